"""Session files (#40): written one photo at a time and read back exactly; and, as hostile input, built here from a
valid one — every outcome is a clear one-line SessionError/ProjectError, never a traceback or a huge allocation."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from clearbg_desktop.core.editing.mask_edits import MaskEdit
from clearbg_desktop.core.editing.project import MAX_PATH_CHARS, Project, ProjectError, project_bytes
from clearbg_desktop.core.editing.session import (
    MAX_PHOTOS,
    GridView,
    SessionError,
    SessionPhoto,
    read_member,
    read_session,
    read_session_photo,
    write_session,
)
from clearbg_desktop.core.file_hash import sha256_file
from clearbg_desktop.core.imaging.export import ExportOptions
from tests.conftest import make_photo
from tests.json_places import json_places, replaced

HOSTILE_VALUES = [None, True, -1, 10**400, 1.5, "", "x" * 5000, [], {}, [[[[]]]], "../../etc/passwd", "\0"]


def _project(photo: Path, flag: str | None = None) -> Project:
    alpha = np.zeros((120, 160), np.uint8)
    alpha[20:100, 30:130] = 255
    after = alpha.copy()
    after[40:60, 40:60] = 0
    return Project(photo_path=photo, photo_sha256=sha256_file(photo), alpha=after, predicted=alpha,
                   history=[MaskEdit.whole(alpha, after, "Erase stroke")], position=1, flag=flag)


@pytest.fixture
def session_file(tmp_path: Path) -> Path:
    photos = []
    for number in range(3):
        photos.append(tmp_path / f"IMG_{number}.jpg")
        make_photo(seed=number).save(photos[-1])
    target = tmp_path / "Shoot.clearbg-session"
    entries = [SessionPhoto(photos[0], "done", project=_project(photos[0])),
               SessionPhoto(photos[1], export_options=ExportOptions(format="jpg", crop_to_subject=True)),
               SessionPhoto(photos[2], "reject", project=_project(photos[2]))]
    assert list(write_session(target, entries, current=2, grid=GridView(True, "doubt", "done", 200),
                              origin=tmp_path / "Earlier.clearbg-session")) == [1, 2, 3]
    return target


def test_a_session_reads_back_exactly(session_file: Path) -> None:
    session = read_session(session_file)
    assert [p.photo_path.name for p in session.photos] == ["IMG_0.jpg", "IMG_1.jpg", "IMG_2.jpg"]
    assert [p.flag for p in session.photos] == ["done", None, "reject"]
    assert [p.member for p in session.photos] == ["photos/0000.clearbg", None, "photos/0002.clearbg"]
    assert session.current == 2 and session.grid == GridView(True, "doubt", "done", 200)
    assert session.photos[1].export_options == ExportOptions(format="jpg", crop_to_subject=True)
    assert session.origin is not None and session.origin.name == "Earlier.clearbg-session"
    project, data = read_session_photo(session_file, session.photos[2])
    expected = _project(session.photos[2].photo_path)
    assert np.array_equal(project.alpha, expected.alpha) and np.array_equal(project.predicted, expected.predicted)
    assert project.position == 1 and [e.label for e in project.history] == ["Erase stroke"]
    assert project.flag == "reject" and data[:2] == b"PK"
    with zipfile.ZipFile(session_file) as archive:  # projects stored as they are: one can be taken out and opened
        assert all(i.compress_type == zipfile.ZIP_STORED for i in archive.infolist() if i.filename != "session.json")


def test_cancelling_a_write_keeps_the_previous_file(tmp_path: Path, session_file: Path) -> None:
    before = session_file.read_bytes()
    photo = tmp_path / "IMG_0.jpg"
    writing = write_session(session_file, [SessionPhoto(photo, project=_project(photo))] * 5)
    next(writing)
    writing.close()  # the user cancelled after the first photo
    assert session_file.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def _rewritten(source: Path, target: Path, description: object | None = None,
               members: dict[str, bytes] | None = None, stored: bool = True) -> Path:
    with zipfile.ZipFile(source) as archive:
        contents = {i.filename: archive.read(i) for i in archive.infolist()}
    if description is not None:
        contents["session.json"] = json.dumps(description).encode() if not isinstance(description, bytes) \
            else description
    contents.update(members or {})
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data, zipfile.ZIP_STORED if stored or name == "session.json"
                             else zipfile.ZIP_DEFLATED)
    return target


def _outcome(path: Path) -> str:
    """What opening does: "ok", or the error's one line (anything but SessionError/ProjectError fails the test)."""
    try:
        session = read_session(path)
        for photo in session.photos:
            if photo.member is not None:
                read_session_photo(path, photo)
    except (SessionError, ProjectError) as exc:
        message = str(exc)
        assert "\n" not in message and len(message) < 400 and "Traceback" not in message
        return message
    return "ok"


def test_every_field_of_session_json_replaced_by_hostile_values(tmp_path: Path, session_file: Path) -> None:
    with zipfile.ZipFile(session_file) as archive:
        description = json.loads(archive.read("session.json"))
    places = [place for place in json_places(description) if place]
    opened = 0
    for number, place in enumerate(places):
        for value in HOSTILE_VALUES:
            hostile = _rewritten(session_file, tmp_path / f"h{number}.clearbg-session",
                                 replaced(description, place, value))
            opened += _outcome(hostile) == "ok"  # only SessionError/ProjectError otherwise (checked in _outcome)
    assert 0 < opened < len(places) * len(HOSTILE_VALUES)  # e.g. a flag set to None is fine, a list is not


@pytest.mark.parametrize("case", ["not json", "deep", "nan", "newer", "other format", "too many photos",
                                  "member of another number", "missing member", "deflated member",
                                  "member larger than the file", "flipped project bytes", "another photo's project",
                                  "long path", "not a zip", "empty zip"])
def test_hostile_sessions_get_one_clear_line(tmp_path: Path, session_file: Path, case: str) -> None:
    with zipfile.ZipFile(session_file) as archive:
        description = json.loads(archive.read("session.json"))
        first = archive.read("photos/0000.clearbg")
    target = tmp_path / "hostile.clearbg-session"
    if case == "not json":
        _rewritten(session_file, target, b"{not json")
    elif case == "deep":
        _rewritten(session_file, target, b"[" * 100_000 + b"]" * 100_000)
    elif case == "nan":
        _rewritten(session_file, target, json.dumps(description).replace('"current": 2', '"current": NaN').encode())
    elif case == "newer":
        _rewritten(session_file, target, {**description, "format_version": 99})
    elif case == "other format":
        _rewritten(session_file, target, {**description, "format": "clearbg-project"})
    elif case == "too many photos":
        _rewritten(session_file, target, {**description, "photos": description["photos"] * (MAX_PHOTOS // 3 + 1)})
    elif case == "member of another number":
        description["photos"][0]["project"] = "photos/0002.clearbg"
        _rewritten(session_file, target, description)
    elif case == "missing member":
        description["photos"][1]["project"] = "photos/0001.clearbg"
        _rewritten(session_file, target, description)
    elif case == "deflated member":
        _rewritten(session_file, target, stored=False)
    elif case == "member larger than the file":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("session.json", json.dumps(description))
            archive.writestr("photos/0000.clearbg", first)
            archive.writestr("photos/0002.clearbg", first)
        data = bytearray(buffer.getvalue())
        name = data.find(b"photos/0000.clearbg", data.find(b"PK\x01\x02"))  # in the central directory
        data[name - 46 + 24:name - 46 + 28] = (2**31).to_bytes(4, "little")  # its declared (uncompressed) size
        target.write_bytes(bytes(data))
    elif case == "flipped project bytes":
        damaged = bytearray(first)
        damaged[len(damaged) // 2] ^= 0xFF
        _rewritten(session_file, target, members={"photos/0000.clearbg": bytes(damaged)})
    elif case == "another photo's project":
        _rewritten(session_file, target, members={"photos/0000.clearbg": project_bytes(
            _project(tmp_path / "IMG_2.jpg"))})
    elif case == "long path":
        description["photos"][0]["photo"] = "/x" * MAX_PATH_CHARS
        _rewritten(session_file, target, description)
    elif case == "not a zip":
        target.write_bytes(b"not a zip at all")
    elif case == "empty zip":
        with zipfile.ZipFile(target, "w"):
            pass
    outcome = _outcome(target)
    assert outcome != "ok" and outcome.startswith("hostile.clearbg-session")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are a POSIX thing")
@pytest.mark.parametrize("kind", ["session", "project", "member"])
def test_a_pipe_or_a_folder_in_place_of_a_file_is_refused_at_once_not_waited_on(tmp_path: Path, kind: str) -> None:
    """A plain open() of a FIFO blocks until something writes to it: the window would hang for good."""
    import threading

    from clearbg_desktop.core.editing.project import read_project

    read = {"session": read_session, "project": read_project,
            "member": lambda path: read_member(path, "photos/0000.clearbg")}[kind]
    for name, make in (("pipe", os.mkfifo), ("folder", os.mkdir)):
        path = tmp_path / f"{kind}-{name}.clearbg"
        make(path)
        outcome: list[BaseException] = []
        reader = threading.Thread(target=lambda path=path, outcome=outcome: outcome.append(_raised(read, path)),
                                  daemon=True)
        reader.start()
        reader.join(10)
        if reader.is_alive():  # release it before failing
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        assert not reader.is_alive(), f"reading a {name} as a {kind} waited for a writer"
        assert isinstance(outcome[0], (SessionError, ProjectError)) and path.name in str(outcome[0])
        assert "regular file" in str(outcome[0]) or "folder" in str(outcome[0])


def _raised(read, path: Path) -> BaseException:  # type: ignore[no-untyped-def]
    try:
        read(path)
    except BaseException as exc:  # noqa: BLE001 - the test looks at whatever it was
        return exc
    return AssertionError("read a pipe or folder without an error")
