"""Pure logic behind the metrics: question types and bounded client labels."""

from __future__ import annotations


import pytest

from tsa import metrics
from tsa.access import Principal, Role, Scope
from tsa.api.clients import ClientLabels
from tsa.cache.keys import LAYERS
from tsa.rag.question_types import ORDER, classify_question


@pytest.mark.parametrize(("question", "expected"), [
    ("How do I replace the impeller?", "procedure"),
    ("Steps to bleed the hydraulic circuit", "procedure"),
    ("How do I adjust the pressure?", "procedure"),
    ("What is the tightening torque of the impeller nut?", "specification"),
    ("How often should the filter be replaced?", "specification"),
    ("What is the M8x1.25 thread size?", "specification"),
    ("What oil capacity does the gearbox have?", "specification"),
    ("What does E-17 mean?", "troubleshooting"),
    ("How do I clear E-17?", "troubleshooting"),
    ("The display shows A5", "troubleshooting"),
    ("The pump is leaking, why?", "troubleshooting"),
    ("Motor does not start", "troubleshooting"),
    ("Tell me about the HF-22 pump", "general"),  # a model number is not a fault code
    ("Who makes this machine?", "general"),
    ("", "general"),
])
def test_question_types(question, expected):
    assert classify_question(question) == expected


def test_only_the_opening_of_a_huge_question_is_classified():
    assert classify_question("Who makes this machine? " + "x " * 300 + "torque E-17 means") == "general"


def test_client_labels_are_bounded_and_name_signed_in_callers_by_account():
    labels = ClientLabels(max_clients=2)
    scope = Scope(frozenset({1}), frozenset())
    by_key = Principal(7, "alice", Role.viewer, scope, "key", key_id=3)
    by_session = Principal(7, "alice", Role.viewer, scope, "session")
    assert labels.label(None, None) == "anonymous"
    assert labels.label("van-12", None) == "van-12"
    assert labels.label("van-12", by_key) == "user:alice/key:3"  # an account outranks a claimed id
    assert labels.label(None, by_session) == "other"  # the bound is reached
    assert labels.label("van-13", None) == "other"
    assert labels.label("van-12", None) == "van-12"  # known clients keep their label
    assert labels.label("bad id with spaces", None) == "invalid"
    assert labels.label("x" * 65, None) == "invalid"


def test_metric_label_sets_match_the_code_that_uses_them():
    assert metrics.CACHE_LAYERS == LAYERS
    assert set(metrics.QUESTION_TYPES) == {*ORDER, "general"}


def test_a_series_is_looked_up_once_and_a_removed_one_comes_back_exported(monkeypatch):
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.metrics import MetricWrapperBase

    registry = CollectorRegistry()
    gauge = metrics.Gauge("t_in_flight", "test", ["instance"], registry=registry)
    looked_up = []
    original = MetricWrapperBase.labels
    monkeypatch.setattr(MetricWrapperBase, "labels",
                        lambda self, *values, **named: looked_up.append(values) or original(self, *values, **named))
    first = gauge.labels("a")
    assert gauge.labels("a") is first and looked_up == [("a",)]  # the second time from what was remembered
    first.set(3)
    gauge.remove("a")
    gauge.labels("a").set(2)  # a new series: the remembered one went with the removed one
    assert 't_in_flight{instance="a"} 2.0' in generate_latest(registry).decode()
    gauge.clear()
    gauge.labels("b").inc()
    assert 'instance="a"' not in generate_latest(registry).decode()
