"""Projects (``.clearbg``) exported as outputs beside a batch's photos: each with its own mask and settings,
isolated like photos."""


from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from clearbg_desktop.core.batch.naming import (
    OutputRequest,
    collision_key,
    plan_outputs,
)
from clearbg_desktop.core.batch.plan import EXISTING_POLICIES, BatchItem, BatchPlan
from clearbg_desktop.core.batch.records import OutputRecords
from clearbg_desktop.core.batch.report import FileResult
from clearbg_desktop.core.batch.writing import place_output, write_output
from clearbg_desktop.core.imaging.atomic_write import OutputError, OutputExistsError
from clearbg_desktop.core.imaging.export import (
    next_free_path,
)
from clearbg_desktop.core.imaging.loading import ImageLoadError

if TYPE_CHECKING:

    pass

def export_projects(paths: Sequence[Path], output_dir: Path, existing: str = "skip",
                    beside: BatchPlan | None = None) -> Iterator[FileResult]:
    """``clearbg-cli a.clearbg b.clearbg -o out``: each project exported with its own mask and settings, one
    result each. Isolated like photos: a damaged or hostile project is a ``failed`` result, the rest go on.

    ``beside``: the plan of the photos exported in the same run; a project's output never takes one of their
    names (a project and its own photo in one run get two outputs) and never replaces one of them.
    """
    if existing not in EXISTING_POLICIES:
        raise ValueError(f"unknown policy {existing!r} for existing outputs; choose one of {EXISTING_POLICIES}")
    output_dir = Path(output_dir)
    folder = output_dir.resolve()
    items = beside.items if beside is not None else []
    taken = {collision_key(folder / item.target.relative_to(output_dir)) for item in items}
    originals = [Path(path) for path in paths] + [item.source for item in items]
    records = OutputRecords()
    for path in paths:
        result = _export_project(Path(path), output_dir, existing, taken, originals, records)
        if result.item.target != output_dir:
            taken.add(collision_key(folder / result.item.target.name))
        yield result


def _export_project(path: Path, output_dir: Path, existing: str, taken: set[str], originals: list[Path],
                    records: OutputRecords) -> FileResult:
    from clearbg_desktop.core.editing.project import ProjectError, background_beside, open_photo, read_project

    item = BatchItem(path, output_dir)  # the output's name is known once the project is read
    try:
        project = read_project(path)
        options = background_beside(project.export_options, path)
        # Keys of the whole path, so the taken names are compared as planned here: from the file system's root.
        [planned] = plan_outputs([OutputRequest(project.photo_path, output_dir.resolve())], Path("/"), options,
                                 project.model, originals=[*originals, project.photo_path], taken=taken)
        item = BatchItem(path, output_dir / planned.target.name)
        if planned.problem:
            return FileResult(item, "failed", f"{path.name}: {planned.problem}")
        policy, where, why = place_output(records, item.target, path, existing, options, project.model)
        if policy == "failed":
            return FileResult(item, "failed", f"{path.name}: {why}")
        if policy == "skipped":
            return FileResult(item, "skipped", "output already exists", where)
        loaded = open_photo(project, path)
        target = next_free_path(where) if policy == "rename" else where
        written = write_output(loaded, Image.fromarray(project.alpha, "L"), target, options, policy)
        records.add(written, item.target, path)
    except OutputExistsError:
        return FileResult(item, "skipped", "output already exists (written meanwhile by another run)", item.target)
    except (ProjectError, ImageLoadError, OutputError) as exc:
        return FileResult(item, "failed", str(exc))
    except MemoryError:
        return FileResult(item, "failed", f"{path.name}: not enough memory to export it")
    except Exception as exc:  # noqa: BLE001 - one bad project must not stop the others
        return FileResult(item, "failed", f"{path.name}: could not export it ({exc})")
    return FileResult(item, "done", "", written)
