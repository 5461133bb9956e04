from tsa.ingest.chunking import ChunkingParams, chunk_blocks
from tsa.records import Block


def _procedure(steps: int, page: int = 3) -> list[Block]:
    return ([Block("heading", "4 Maintenance", page, 1), Block("heading", "4.2 Filter", page, 2),
             Block("paragraph", "To replace the filter:", page),
             Block("notice", "WARNING: Depressurise the pump first.", page)]
            + [Block("list_item", f"{n}. Do step number {n} carefully.", page) for n in range(1, steps + 1)]
            + [Block("notice", "NOTE: Torque to 25 N.m.", page)])


def test_procedure_stays_whole_with_its_notices_and_heading_path():
    chunks = chunk_blocks(_procedure(4))
    assert len(chunks) == 1
    assert chunks[0].heading_path == ("4 Maintenance", "4.2 Filter")
    text = chunks[0].text
    assert text.index("WARNING") < text.index("1. Do step") < text.index("4. Do step") < text.index("NOTE")
    assert (chunks[0].page_start, chunks[0].page_end) == (3, 3)


def test_oversize_procedure_splits_between_steps_repeating_the_warning():
    chunks = chunk_blocks(_procedure(30), ChunkingParams(max_chars=300, overlap_chars=50))
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.text.startswith("To replace the filter:\nWARNING: Depressurise")
        assert len(chunk.text) <= 300 + 60
    all_steps = "\n".join(c.text for c in chunks)
    assert all(f"{n}. Do step number {n} " in all_steps for n in range(1, 31))


def test_sections_never_share_a_chunk():
    blocks = [Block("heading", "1 Safety", 1, 1), Block("paragraph", "Wear gloves.", 1),
              Block("heading", "2 Specifications", 2, 1), Block("paragraph", "Flow 22 m3/h.", 2)]
    chunks = chunk_blocks(blocks)
    assert [(c.heading_path, c.text, c.page_start) for c in chunks] == [
        (("1 Safety",), "Wear gloves.", 1), (("2 Specifications",), "Flow 22 m3/h.", 2)]


def test_long_prose_is_bounded_and_consecutive_chunks_overlap():
    sentences = " ".join(f"Sentence {n} describes the pump in some detail." for n in range(60))
    chunks = chunk_blocks([Block("paragraph", sentences, 1)], ChunkingParams(max_chars=400, overlap_chars=100))
    assert len(chunks) > 3
    assert all(len(c.text) <= 400 + 100 + 1 for c in chunks)
    for before, after in zip(chunks, chunks[1:]):
        first_sentence_of_after = after.text.split("\n")[0]
        assert first_sentence_of_after and first_sentence_of_after in before.text


def test_subheading_path_replaces_siblings():
    blocks = [Block("heading", "4 Maintenance", 1, 1), Block("heading", "4.1 Oil", 1, 2), Block("paragraph", "a", 1),
              Block("heading", "4.2 Filter", 1, 2), Block("paragraph", "b", 1)]
    assert [c.heading_path for c in chunk_blocks(blocks)] == [("4 Maintenance", "4.1 Oil"),
                                                              ("4 Maintenance", "4.2 Filter")]


def test_semantic_boundaries_cut_where_the_topic_changes():
    from collections import Counter

    from tsa.ingest.chunking import cohesion

    assert cohesion(Counter({"seal": 2, "pump": 1}), Counter({"seal": 1})) > cohesion(
        Counter({"seal": 2}), Counter({"motor": 1})) == 0.0
    seal = [Block("paragraph", f"The seal wears at the seal face; check seal kit SK-{n} for seal wear.", 1)
            for n in range(4)]
    motor = [Block("paragraph", f"The motor bearing {n} needs grease; motor bearings run warm.", 1)
             for n in range(4)]
    blocks = [Block("heading", "4 Maintenance", 1, 1), *seal[:3], *motor[:3], *seal[3:], *motor[3:]]
    params = ChunkingParams(max_chars=500, overlap_chars=0)
    by_size = chunk_blocks(blocks, params)
    by_meaning = chunk_blocks(blocks, ChunkingParams(max_chars=500, overlap_chars=0, boundaries="semantic"))
    def topics(chunks):
        return [["seal" if "seal" in line else "motor" for line in c.text.split("\n")] for c in chunks]

    # Filling to the size limit puts the seal paragraphs, the motor ones and the next seal one in one
    # chunk; the semantic cut falls where the seal paragraphs end.
    assert topics(by_size) == [["seal"] * 3 + ["motor"] * 3 + ["seal"], ["motor"]]
    assert topics(by_meaning) == [["seal"] * 3, ["motor"] * 3 + ["seal", "motor"]]
    assert all(len(c.text) <= 500 for c in by_meaning)
