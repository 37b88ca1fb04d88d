"""Which photo each output was made from, so "skipped" means only "this photo's own output is already there".

A photographer who exports card 1 and later card 2 into one folder has two different ``IMG_0001.JPG``: both plan
``IMG_0001-cutout.png``. By name alone the second run would skip card 2's photo (or, with overwrite, replace card
1's cut-out). So every output folder has a small record, one line per written output: its name, the name it was
planned under and the photo it came from. An existing output that the record gives to another photo is left alone
and this photo's output is written beside it (``name (2).png``); an output without a record (written before
records existed, on another computer, or by someone else) keeps the old meaning: skipped, or replaced with
overwrite.

The records live in the user data folder (``output-records/<hash of the folder>.jsonl``), not in the output
folder: a client's delivery folder gets only the cut-outs (a dot-file is not hidden on Windows). Like every
cache they are optional: read bounded and line by line (a bad line is skipped), never written through a
symlink, and a data folder where they cannot be written only means the next run knows less.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from clearbg_desktop.core.paths import data_dir, read_user_file, real_path

RECORDS_FOLDER = "output-records"
MAX_RECORD_BYTES = 32 << 20  # ~150,000 outputs; a larger file is not read (the runs then know nothing, as before)
MAX_FIELD_CHARS = 4096


def _source_key(source: Path) -> str:
    return str(real_path(source))


def record_path(folder: Path) -> Path:
    """Where the record of the output folder ``folder`` is kept."""
    digest = hashlib.sha256(os.fsencode(_source_key(folder))).hexdigest()[:32]
    return data_dir() / RECORDS_FOLDER / f"{digest}.jsonl"


def _plain_name(value: object) -> bool:
    return (isinstance(value, str) and 0 < len(value) <= 255 and "/" not in value and "\\" not in value
            and "\0" not in value and value not in (".", ".."))


@dataclass
class FolderRecord:
    """One output folder's record: the photo behind each output, and each photo's output per planned name."""

    folder: Path
    owners: dict[str, str] = field(default_factory=dict)  # written name -> source
    written: dict[tuple[str, str], str] = field(default_factory=dict)  # (planned name, source) -> written name

    @classmethod
    def read(cls, folder: Path) -> FolderRecord:
        """The record as on disk; empty when there is none or it cannot be one (a FIFO, a folder, too large)."""
        record = cls(folder)
        try:
            data = read_user_file(record_path(folder), MAX_RECORD_BYTES)
        except OSError:
            return record
        for line in data.splitlines():
            record._take(line)
        return record

    def _take(self, line: bytes) -> None:
        try:
            entry = json.loads(line)
        except (ValueError, RecursionError):
            return
        if not isinstance(entry, dict):
            return
        output, planned, source = entry.get("output"), entry.get("planned"), entry.get("source")
        if not (_plain_name(output) and _plain_name(planned) and isinstance(source, str)
                and 0 < len(source) <= MAX_FIELD_CHARS and "\0" not in source):
            return
        assert isinstance(output, str) and isinstance(planned, str)
        self.owners[output] = source
        self.written[(planned, source)] = output

    def owner(self, output: Path) -> str | None:
        """The photo the record says ``output`` was made from; None when the record does not know it."""
        return self.owners.get(output.name)

    def earlier_output(self, planned: Path, source: Path) -> Path | None:
        """This photo's output from an earlier run under ``planned``'s name, if it is still there and still its."""
        key = _source_key(source)
        name = self.written.get((planned.name, key))
        if name is None or self.owners.get(name) != key:
            return None
        path = self.folder / name
        try:
            return path if path.is_file() else None
        except OSError:
            return None

    def add(self, written: Path, planned: Path, source: Path) -> bool:
        """Note one written output, in memory and on disk (appended); False when the disk could not take it."""
        key = _source_key(source)
        self.owners[written.name] = key
        self.written[(planned.name, key)] = written.name
        line = json.dumps({"output": written.name, "planned": planned.name, "source": key},
                          ensure_ascii=False) + "\n"
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        path = record_path(self.folder)
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            descriptor = os.open(path, flags, 0o600)
        except (OSError, ValueError):
            return False
        try:
            return _is_regular(descriptor) and os.write(descriptor, line.encode("utf-8")) > 0
        except OSError:
            return False
        finally:
            os.close(descriptor)


def _is_regular(descriptor: int) -> bool:
    import stat

    try:
        return stat.S_ISREG(os.fstat(descriptor).st_mode)
    except OSError:
        return False


class OutputRecords:
    """The records of every output folder a job writes to, read once when it starts."""

    def __init__(self) -> None:
        self._folders: dict[Path, FolderRecord] = {}
        self.unrecorded: set[Path] = set()  # output folders whose record could not be written this time

    def add(self, written: Path, planned: Path, source: Path) -> None:
        if not self.of(planned.parent).add(written, planned, source):
            self.unrecorded.add(planned.parent)

    def note(self) -> str:
        """One line for the report when some outputs could not be recorded, else ""."""
        if not self.unrecorded:
            return ""
        return (f"which photo made each output could not be recorded in {record_path(Path('.')).parent} (read-only "
                "or odd): a later run into the same folder cannot tell these outputs from other photos' (same-named "
                "photos may then be skipped)")

    def of(self, folder: Path) -> FolderRecord:
        if folder not in self._folders:
            self._folders[folder] = FolderRecord.read(folder)
        return self._folders[folder]

    def decide(self, target: Path, source: Path, existing: str, exists: bool, named_like_output: bool = True
               ) -> tuple[str, Path]:
        """What to do with a photo planned at ``target``: ("skipped", its output there), ("refused", target) when
        the file there is not an output at all (ClearBG did not write it and it is not named like an output: a
        photo, say), or the policy to write it with and where ("overwrite", "rename", or "skip", which writes
        without ever replacing). ``named_like_output``: ``core.imaging.export.looks_like_output`` of ``target``."""
        if existing == "rename":
            return "rename", target
        record = self.of(target.parent)
        earlier = record.earlier_output(target, source)
        owner = record.owner(target) if exists else None
        another_photos = owner is not None and owner != _source_key(source)
        foreign = exists and owner is None and not named_like_output
        if existing == "skip":
            if earlier is not None:
                return "skipped", earlier
            if exists and not another_photos and not foreign:
                return "skipped", target  # its own, or an output the record does not know (written before records)
        elif earlier is not None and (another_photos or foreign):
            return "overwrite", earlier  # its own output, written beside another file
        elif not another_photos and not foreign:
            return "overwrite", target
        if foreign:
            return "refused", target
        return ("rename", target) if another_photos else (existing, target)
