import io
import zipfile

import pytest

from tsa.errors import DocumentError, PayloadTooLarge, UnsupportedDocument
from tsa.ingest.archive import is_archive, plan_members, read_member, unsafe_path


def _zip(members: dict[str, bytes]) -> zipfile.ZipFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return zipfile.ZipFile(io.BytesIO(buffer.getvalue()))


@pytest.mark.parametrize(("name", "unsafe"), [
    ("manuals/pump.pdf", False), ("pump.pdf", False), ("a..b.pdf", False),
    ("../../etc/passwd.txt", True), ("/etc/passwd.txt", True), ("manuals/../../x.md", True),
    ("..\\..\\windows\\x.md", True), ("C:\\x.md", True), ("x\x00.md", True),
])
def test_names_that_climb_out_are_refused(name, unsafe):
    assert (unsafe_path(name) is not None) == unsafe


def test_a_plan_gives_each_member_its_own_reason():
    archive = _zip({"ok.md": b"# A\n\ntext", "../evil.md": b"# B", "inner.zip": b"PK..", "big.txt": b"x" * 5000,
                    "folder/also-ok.txt": b"fine"})
    planned = {p.name: p.problem for p in plan_members(archive.infolist(), 1000, 10_000, 100)}
    assert planned["ok.md"] is None and planned["folder/also-ok.txt"] is None
    assert isinstance(planned["../evil.md"], DocumentError) and "climbs" in planned["../evil.md"].message
    assert isinstance(planned["inner.zip"], UnsupportedDocument)
    assert isinstance(planned["big.txt"], PayloadTooLarge)


def test_the_total_and_the_count_are_bounded():
    archive = _zip({f"f{i}.txt": b"y" * 400 for i in range(5)})
    problems = [p.problem for p in plan_members(archive.infolist(), 1000, 1000, 100)]
    assert [p is None for p in problems] == [True, True, False, False, False]
    problems = [p.problem for p in plan_members(archive.infolist(), 1000, 10_000, 3)]
    assert [p is None for p in problems] == [True, True, True, False, False]


def test_a_member_that_lies_about_its_size_is_a_clear_error():
    raw = bytearray(_zip({"a.txt": b"z" * 10_000}).fp.getvalue())  # type: ignore[union-attr]
    archive = zipfile.ZipFile(io.BytesIO(bytes(raw)))
    info = archive.infolist()[0]
    info.file_size = 100  # claims less than it holds: zipfile stops there and the CRC fails
    with pytest.raises(DocumentError, match="could not be unpacked"):
        read_member(archive, info)


def test_docx_is_not_an_archive_to_unpack():
    assert is_archive("manuals.zip", b"PK\x03\x04") and not is_archive("manual.docx", b"PK\x03\x04")
