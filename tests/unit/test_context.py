import uuid

from tsa.rag.context import assemble, continues_after, join, starts_inside
from tsa.records import Neighbour, SearchHit


def _hit(chunk_id: int, text: str, page: int = 4) -> SearchHit:
    return SearchHit(chunk_id, uuid.uuid4(), 1, "HF-22 manual", "hf22.pdf", page, page,
                     ("4 Maintenance", "4.3 Replacing the seal"), text, 0.03, 0.6)


STEPS_1_3 = "To replace the seal:\nWARNING: Isolate the pump.\n1. Drain the casing.\n2. Remove the cover.\n3. Pull the impeller."
STEPS_4_5 = "WARNING: Isolate the pump.\n4. Fit seal kit SK-4471.\n5. Tighten the nut to 25 N·m."


def test_a_passage_that_stops_in_a_procedure_or_table_continues():
    assert continues_after(STEPS_1_3)
    assert continues_after("Fastener | Size | Torque\nCasing bolts | M8 | 25 N·m")
    assert continues_after("Proceed as follows:")
    assert not continues_after("The pump needs no attention between services.")


def test_a_passage_that_starts_after_step_one_or_inside_a_table_started_earlier():
    assert starts_inside(STEPS_4_5), "the repeated warning is skipped; step 4 is not the first"
    assert starts_inside("Impeller nut | M12 | 45 N·m")
    assert not starts_inside(STEPS_1_3)
    assert not starts_inside("1. Drain the casing.")


def test_joining_drops_what_the_second_part_repeats():
    assert join(STEPS_1_3, STEPS_4_5) == STEPS_1_3 + "\n4. Fit seal kit SK-4471.\n5. Tighten the nut to 25 N·m."
    prose = "The seal wears. Replace it every 4000 hours."
    assert join(prose, "Replace it every 4000 hours.\nKeep a spare kit.") == prose + "\nKeep a spare kit."


def test_assembly_widens_a_hit_by_the_chunk_its_procedure_continues_into():
    hit = _hit(10, STEPS_1_3)
    later = Neighbour(11, STEPS_4_5, 5, 5)
    (passage,) = assemble([hit], {10: {1: later, -1: Neighbour(9, "The seal is a wear part.", 4, 4)}})
    assert "Tighten the nut to 25 N·m" in passage.text and passage.text.count("WARNING") == 1
    assert "wear part" not in passage.text, "the hit starts at step one: nothing before it is needed"
    assert (passage.page_start, passage.page_end, passage.chunk_id) == (4, 5, 10)


def test_assembly_reaches_back_for_the_start_of_a_procedure():
    (passage,) = assemble([_hit(11, STEPS_4_5, 5)], {11: {-1: Neighbour(10, STEPS_1_3, 4, 4)}})
    assert passage.text.startswith("To replace the seal:") and "5. Tighten" in passage.text
    assert (passage.page_start, passage.page_end) == (4, 5)


def test_assembly_leaves_hits_alone_when_the_neighbour_is_given_or_too_long():
    first, second = _hit(10, STEPS_1_3), _hit(11, STEPS_4_5, 5)
    neighbours = {10: {1: Neighbour(11, STEPS_4_5, 5, 5)}, 11: {-1: Neighbour(10, STEPS_1_3, 4, 4)}}
    assert assemble([first, second], neighbours) == [first, second]
    assert assemble([first], {10: {1: Neighbour(11, STEPS_4_5, 5, 5)}}, max_extra_chars=20) == [first]
    prose = _hit(12, "The pump needs no attention between services.")
    assert assemble([prose], {12: {1: Neighbour(13, STEPS_4_5, 5, 5)}}) == [prose]
