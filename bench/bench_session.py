"""The shoot as one session file (#40): seconds to write N photos' masks and histories into one ``.clearbg-session``,
to write it again with every photo unchanged (members copied over), and to read it back the way the window does
(each photo's project checked, its masks packed and its grid thumbnail made) — beside the reference in the same
run, N separate ``.clearbg`` projects saved and read one by one (what a user had before: one Save per photo).

Masks are soft synthetic cut-outs at the photos' size with a predicted mask that differs (an edited photo: two
16-bit PNGs each) and a short history; the photo files themselves are small (only their hash is read).

    .venv/bin/python bench/bench_session.py --count 30 --mp 24
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench.common import table  # noqa: E402
from clearbg_desktop.core.editing.document import PackedMasks  # noqa: E402
from clearbg_desktop.core.editing.mask_edits import MaskEdit  # noqa: E402
from clearbg_desktop.core.editing.project import Project, read_project, save_project  # noqa: E402
from clearbg_desktop.core.editing.session import (  # noqa: E402
    SessionPhoto,
    read_member,
    read_session,
    read_session_photo,
    write_session,
)
from clearbg_desktop.core.editing.shoot import mask_thumbnail  # noqa: E402
from clearbg_desktop.core.file_hash import sha256_file  # noqa: E402


def soft_mask(width: int, height: int, seed: int) -> np.ndarray:
    y, x = np.ogrid[0:height, 0:width]
    cx, cy = width * (0.45 + 0.01 * seed % 0.1), height * 0.5
    distance = np.hypot((x - cx) / (width * 0.3), (y - cy) / (height * 0.38))
    return np.clip((1.05 - distance) * 40 * 255, 0, 255).astype(np.uint8)


def make_projects(folder: Path, count: int, megapixels: float) -> list[Project]:
    width = int((megapixels * 1e6 * 1.5) ** 0.5)
    height = int(width / 1.5)
    photo = folder / "photo.jpg"
    photo.write_bytes(b"\xff\xd8 a stand-in: a session hashes the photo, it does not decode it")
    digest = sha256_file(photo)
    projects = []
    for seed in range(count):
        predicted = soft_mask(width, height, seed)
        alpha = predicted.copy()
        alpha[height // 3:height // 3 + 200, width // 3:width // 3 + 300] = 0  # an erase stroke
        edit = MaskEdit.whole(predicted, alpha, "Erase stroke")
        path = folder / f"IMG_{seed:04d}.jpg"
        shutil.copyfile(photo, path)
        projects.append(Project(photo_path=path, photo_sha256=digest, alpha=alpha, predicted=predicted,
                                history=[edit], position=1, flag="done" if seed % 2 else None))
    return projects


def open_like_the_window(path: Path) -> int:
    """What the session reader does per photo off the GUI thread: check its project, pack its masks, thumbnail."""
    session = read_session(path)
    for photo in session.photos:
        project, _ = read_session_photo(path, photo)
        PackedMasks.pack(project.alpha, project.predicted)
        mask_thumbnail(project.alpha, (192, 128))
    return len(session.photos)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--mp", type=float, default=24.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="clearbg-bench-session-"))
    try:
        projects = make_projects(folder, args.count, args.mp)
        target = folder / "Shoot.clearbg-session"
        times: dict[str, list[float]] = {k: [] for k in ("projects_write", "projects_read", "write", "rewrite",
                                                          "read")}
        for _ in range(args.repeats):
            started = time.perf_counter()
            for number, project in enumerate(projects):
                save_project(project, folder / f"p{number}.clearbg")
            times["projects_write"].append(time.perf_counter() - started)
            started = time.perf_counter()
            for number in range(len(projects)):
                loaded = read_project(folder / f"p{number}.clearbg")
                PackedMasks.pack(loaded.alpha, loaded.predicted)
                mask_thumbnail(loaded.alpha, (192, 128))
            times["projects_read"].append(time.perf_counter() - started)
            started = time.perf_counter()
            for _count in write_session(target, [SessionPhoto(p.photo_path, p.flag, project=p) for p in projects]):
                pass
            times["write"].append(time.perf_counter() - started)
            session = read_session(target)
            started = time.perf_counter()
            reused = [SessionPhoto(p.photo_path, p.flag, reuse=read_member(target, p.member or ""))
                      for p in session.photos]
            for _count in write_session(target, reused):
                pass
            times["rewrite"].append(time.perf_counter() - started)
            started = time.perf_counter()
            open_like_the_window(target)
            times["read"].append(time.perf_counter() - started)
        median = {k: statistics.median(v) for k, v in times.items()}
        size = target.stat().st_size / 2**20
        projects_size = sum((folder / f"p{n}.clearbg").stat().st_size for n in range(len(projects))) / 2**20
        rows = [
            [f"{args.count} separate projects (reference)", f"{median['projects_write']:.2f}",
             f"{median['projects_read']:.2f}", "—", f"{projects_size:.1f}", "1.00×"],
            ["one session file", f"{median['write']:.2f}", f"{median['read']:.2f}", f"{median['rewrite']:.2f}",
             f"{size:.1f}", f"{median['write'] / median['projects_write']:.2f}×"],
        ]
        print(f"{args.count} edited photos of {args.mp:g} MP (mask + model mask + one edit each), median of "
              f"{args.repeats}")
        print(table(["how", "write s", "read s", "write again unchanged s", "MiB", "write vs projects"], rows))
        print(f"per photo: write {median['write'] / args.count:.2f} s, read {median['read'] / args.count:.2f} s, "
              f"write again unchanged {median['rewrite'] / args.count * 1000:.0f} ms")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
