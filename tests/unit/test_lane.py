"""What the drop-in lane takes, and which writes make a replica forget the access generation."""

from tsa.api import create_app
from tsa.api.auth import api_routes
from tsa.api.lane import ACCESS_WRITES, ANSWERS, lane_body
from tsa.api.routes import auth, collections, users


def test_every_route_that_changes_access_makes_the_watch_forget():
    modules = {module.__name__ for module in (auth, collections, users)}
    writing = [route for route in api_routes(create_app().routes)
               if route.endpoint.__module__ in modules and route.methods - {"GET", "HEAD", "OPTIONS"}]
    assert len(writing) > 10
    assert [route.path for route in writing if not route.path.startswith(ACCESS_WRITES)] == []


def test_the_lane_takes_json_objects_naming_a_model_other_than_the_manuals():
    assert lane_body(b'{"model": "llama3.2:3b", "stream": false}', "tsa") == {"model": "llama3.2:3b", "stream": False}
    for body in (b"not json", b"[1]", b'{"model": 3}', b'{"model": ""}', b"{}", b'{"model": "tsa"}',
                 b'{"model": "tsa/pumps"}', b'{"model": "tsa:latest"}'):
        assert lane_body(body, "tsa") is None, body


def test_the_lane_answers_only_routes_the_app_documents():
    documented = {route.path for route in api_routes(create_app().routes) if "POST" in route.methods}
    assert set(ANSWERS) <= documented
