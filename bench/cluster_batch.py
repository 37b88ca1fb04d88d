"""The batch on a Ray cluster against the plain local batch, on the same photos in the same run (issue #42).

Rows: the local batch as ``clearbg-cli`` runs it (every core to one model), the same with one thread (the work
one cluster worker does), and ``--cluster`` on 1 and 2 Ray nodes started here (``ray start``, one CPU and one
worker each, as tests/core/test_cluster_ray.py does). Each run is a whole job: the cluster's includes connecting,
starting its workers and loading the model on each ("start"; the local rows' is the model's load). "Overhead per
photo" is what the cluster path adds per photo once its workers run: ((1-node wall - its start) - (local 1-thread
wall - its load)) / photos. Median of ``--repeats``.

A second table times the cluster path apart from the model, on tiny photos (``--overhead-photos``).

    .venv/bin/python bench/cluster_batch.py [--photos 40] [--repeats 3] [--model small] [--folder DIR]
                                            [--overhead-photos 200] [--overhead-only]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import SHARED, make_test_photo, table  # noqa: E402
from clearbg_desktop.core.batch import BatchReport, iter_export, plan_batch  # noqa: E402
from clearbg_desktop.core.batch.cluster import EngineSpec, iter_cluster_export  # noqa: E402
from clearbg_desktop.core.imaging.export import ExportOptions  # noqa: E402
from clearbg_desktop.core.inference.engines import load_segmenter  # noqa: E402

RAY = str(Path(sys.executable).with_name("ray"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Nodes:
    """``count`` Ray nodes on this machine, one CPU each, each ``ray start --block`` in its own process group."""

    def __init__(self, count: int, env: dict[str, str]) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="cbb42-", dir="/tmp"))
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.env = env
        self.processes: list[subprocess.Popen[bytes]] = []
        common = ["--num-cpus", "1", "--node-ip-address", "127.0.0.1", "--disable-usage-stats", "--block"]
        for index in range(count):
            where = (["--head", "--port", str(self.port), "--temp-dir", str(self.root / "ray"),
                      "--include-dashboard", "false"] if index == 0 else ["--address", self.address])
            log = open(self.root / f"node{index}.log", "wb")  # noqa: SIM115 - the node outlives this call
            self.processes.append(subprocess.Popen([RAY, "start", *where, *common], env=env, stdout=log,
                                                   stderr=subprocess.STDOUT, start_new_session=True))
            self.wait_for(index + 1)

    def wait_for(self, count: int, timeout: float = 180.0) -> None:
        ask = [sys.executable, "-c", "import ray, sys; ray.init(address=sys.argv[1], logging_level='ERROR'); "
               "print(sum(1 for node in ray.nodes() if node['Alive']))", self.address]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answer = subprocess.run(ask, env=self.env, capture_output=True, text=True, timeout=timeout)
            if answer.returncode == 0 and answer.stdout.strip().endswith(str(count)):
                return
            time.sleep(1)
        raise RuntimeError(f"the Ray cluster did not reach {count} nodes")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=20)
        shutil.rmtree(self.root, ignore_errors=True)


def run_local(photos: Path, out: Path, model: str, threads: int | None) -> tuple[float, float]:
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    segmenter = load_segmenter(model, threads=threads, measure=False)
    loaded = time.perf_counter() - started
    report = BatchReport()
    list(iter_export(plan_batch([photos], out, ExportOptions(), model=model), segmenter, ExportOptions(),
                     report=report))
    assert not report.failed, report.lines()[:3]
    return time.perf_counter() - started, loaded


def run_cluster(photos: Path, out: Path, spec: EngineSpec, address: str) -> tuple[float, float]:
    shutil.rmtree(out, ignore_errors=True)
    DRIVER_CPU.append(-time.process_time())
    started = time.perf_counter()
    ready: list[float] = []
    report = BatchReport()
    list(iter_cluster_export(plan_batch([photos], out, ExportOptions(), model=spec.model), spec, ExportOptions(),
                             report=report, address=address,
                             on_worker=lambda _where: ready.append(time.perf_counter() - started)))
    assert not report.failed and not report.stopped, report.lines()[:3]
    DRIVER_CPU[-1] += time.process_time()
    return time.perf_counter() - started, min(ready)


DRIVER_CPU: list[float] = []  # the driver's own CPU seconds per cluster run (this process: plan, feed, collect, records)


def overhead(args: argparse.Namespace, env: dict[str, str], work: Path) -> None:
    """The cluster path's cost per photo apart from the model's: tiny photos (64×43 px) through U²-Net small at a
    64 px input (random weights, as the tests use: a few ms per photo), so that what the cluster adds is not lost
    in the model's noise; 1 node against the local batch on 1 thread."""
    import torch

    from clearbg_desktop.core.inference.model import build_model
    from clearbg_desktop.core.inference.weights_install import write_weights_folder

    torch.manual_seed(0)
    write_weights_folder(build_model("small"), work / "resources" / "weights", "small", input_size=64,
                         card={"note": "random, for bench/cluster_batch.py's overhead table"})
    tiny = work / "tiny"
    tiny.mkdir()
    for index in range(args.overhead_photos):
        make_test_photo(0.00275, tiny, f"tiny{index:04d}.jpg", seed=index)
    saved = os.environ.get("CLEARBG_RESOURCES")
    os.environ["CLEARBG_RESOURCES"] = str(work / "resources")
    cluster = Nodes(1, dict(env, CLEARBG_RESOURCES=str(work / "resources")))
    local: list[float] = []
    remote: list[float] = []
    DRIVER_CPU.clear()
    try:
        spec = EngineSpec.of(load_segmenter("small", measure=False), threads=1)
        for _ in range(args.repeats):
            wall, load = run_local(tiny, work / "out", "small", 1)
            local.append(wall - load)
            wall, start = run_cluster(tiny, work / "out", spec, cluster.address)
            remote.append(wall - start)
    finally:
        cluster.stop()
        if saved is None:
            os.environ.pop("CLEARBG_RESOURCES", None)
        else:
            os.environ["CLEARBG_RESOURCES"] = saved
    count = args.overhead_photos
    per_local, per_remote = statistics.median(local) / count, statistics.median(remote) / count
    table(["run", "s per photo after start", "driver CPU ms per photo"],
          [["local batch, 1 thread", f"{per_local:.4f}", "-"],
           ["Ray, 1 node × 1 CPU", f"{per_remote:.4f}", f"{statistics.median(DRIVER_CPU) / count * 1000:.1f}"]],
          f"{count} tiny photos, median of {args.repeats}: the cluster path adds "
          f"{(per_remote - per_local) * 1000:.1f} ms per photo")


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a timeout's TERM still ends the nodes (finally)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", default="small")
    parser.add_argument("--folder", type=Path, default=SHARED / "photos-coco-mini" / "images")
    parser.add_argument("--overhead-photos", type=int, default=200, help="tiny photos for the overhead table (0: none)")
    parser.add_argument("--overhead-only", action="store_true", help="only the overhead table")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cluster-bench-"))
    photos = work / "photos"
    photos.mkdir()
    for path in sorted(args.folder.iterdir())[:args.photos]:
        shutil.copy(path, photos / path.name)
    count = len(list(photos.iterdir()))
    env = dict(os.environ, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32), RAY_USAGE_STATS_ENABLED="0")
    os.environ.update({name: env[name] for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_USAGE_STATS_ENABLED")})
    here = load_segmenter(args.model, measure=False)
    spec = EngineSpec.of(here, threads=1)  # what the CLI sends: the local batch's engine, one thread per worker
    print(f"{count} photos from {args.folder}, {here.description}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at the start", flush=True)
    del here
    times: dict[str, list[tuple[float, float]]] = {}
    try:
        if args.overhead_photos:
            overhead(args, env, work)
        if args.overhead_only:
            return
        for nodes in (1, 2):
            cluster = Nodes(nodes, env)
            try:
                for repeat in range(args.repeats):
                    # the local rows beside each cluster run, so that load swings (a shared machine) hit every row
                    times.setdefault("local batch (all cores)", []).append(
                        run_local(photos, work / "out", args.model, None))
                    if nodes == 1:
                        times.setdefault("local batch, 1 thread", []).append(
                            run_local(photos, work / "out", args.model, 1))
                    times.setdefault(f"Ray, {nodes} node{'s' * (nodes > 1)} × 1 CPU", []).append(
                        run_cluster(photos, work / "out", spec, cluster.address))
                    print(f"  {nodes} node(s), repeat {repeat + 1}: done", flush=True)
            finally:
                cluster.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    medians = {name: (statistics.median(wall for wall, _ in runs), statistics.median(start for _, start in runs))
               for name, runs in times.items()}
    base = medians["local batch (all cores)"][0]
    rows = []
    for name, (wall, start) in medians.items():
        steady = count / (wall - start)
        rows.append([name, f"{wall:.1f}", f"{start:.1f}", f"{count / wall:.2f}", f"{steady:.2f}", f"{base / wall:.2f}×"])
    table(["run", "wall s", "start s", "photos/s", "photos/s after start", "vs local batch"], rows,
          f"{count} photos, median of {args.repeats} (local batch (all cores): of {2 * args.repeats})")
    one_wall, one_start = medians["Ray, 1 node × 1 CPU"]
    single_wall, single_load = medians["local batch, 1 thread"]
    print(f"\ncluster overhead per photo (1 node after its start - local 1 thread after its model load): "
          f"{((one_wall - one_start) - (single_wall - single_load)) / count * 1000:.0f} ms; "
          f"start (connect, workers, model): "
          f"{one_start:.1f} s; per photo on one worker: {(one_wall - one_start) / count:.3f} s")


if __name__ == "__main__":
    main()
