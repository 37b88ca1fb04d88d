"""The cluster batch's pieces that need no Ray: how photos are spread over workers, what a lost worker's photos
become, the report's order, and that nothing but a cluster run loads Ray (tests/core/test_cluster_ray.py runs a
real two-node cluster)."""

from __future__ import annotations

import subprocess
import sys
from collections import deque
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearbg_desktop.core.batch import BatchItem, BatchPlan, FileResult
from clearbg_desktop.core.batch.cluster import MAX_LONE_LOSSES, Dispatch, feed_depth, in_plan_order
from clearbg_desktop.core.batch.ray_workers import ClusterError, RayWorkers
from clearbg_desktop.core.batch.running import Placed


def placed(count: int) -> list[Placed]:
    return [Placed(BatchItem(Path(f"/in/p{i:02d}.jpg"), Path(f"/out/p{i:02d}-cutout.png")), "skip",
                   Path(f"/out/p{i:02d}-cutout.png")) for i in range(count)]


def done(photo: Placed) -> FileResult:
    return FileResult(photo.item, "done", output=photo.where)


def test_photos_are_spread_over_the_workers_in_plan_order_and_the_last_ones_flushed() -> None:
    photos = placed(10)
    dispatch = Dispatch(deque(photos), depth=4, replacements=0)
    dispatch.add_worker(0)
    dispatch.add_worker(1)
    first, flush = dispatch.feed(0)
    assert first == photos[:4] and not flush  # at most ``depth`` at once
    second, flush = dispatch.feed(1)
    assert second == photos[4:7] and not flush  # and no more than a fair share of what is left
    assert dispatch.feed(0) == ([], False)  # full
    for photo in first[:2]:
        dispatch.took(0, done(photo))
    third, flush = dispatch.feed(0)
    assert third == photos[7:9] and not flush
    fourth, flush = dispatch.feed(1)
    assert fourth == photos[9:] and flush  # nothing more to come: finish what you hold
    assert dispatch.feed(0) == ([], True)  # told once that nothing more is coming
    assert dispatch.feed(0) == ([], False)
    assert not dispatch.finished and dispatch.unreported() == 8


def test_a_lost_workers_photos_are_tried_alone_and_a_photo_that_kills_workers_is_reported() -> None:
    photos = placed(3)
    poison = photos[1]
    dispatch = Dispatch(deque(photos), depth=8, replacements=2)
    dispatch.add_worker(0)
    assert dispatch.feed(0) == (photos, True)
    dispatch.took(0, done(photos[0]))
    assert dispatch.lost(0) == []  # it died holding two photos: both suspects, neither blamed yet
    assert list(dispatch.suspects) == photos[1:]
    dispatch.add_worker(1)
    dispatch.add_worker(2)
    assert dispatch.feed(1) == ([poison], True)  # alone
    assert dispatch.feed(1) == ([], False)  # nothing beside a suspect
    assert dispatch.feed(2) == ([photos[2]], True)
    dispatch.took(2, done(photos[2]))
    assert dispatch.lost(1) == []  # one lone death: tried again
    dispatch.add_worker(3)
    assert dispatch.feed(3) == ([poison], True)
    [failed] = dispatch.lost(3)
    assert failed.item == poison.item and failed.status == "failed"
    assert f"died {MAX_LONE_LOSSES} times with only this photo" in failed.message
    assert dispatch.finished and dispatch.retried == {photos[1].item, photos[2].item}


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 12), st.integers(1, 3), st.lists(st.tuples(st.sampled_from(["feed", "result", "lose"]),
                                                                  st.integers(0, 5)), max_size=80))
def test_every_photo_ends_once_whatever_the_workers_do(count: int, workers: int,
                                                       steps: list[tuple[str, int]]) -> None:
    """Whatever order feeds, results and lost workers come in: a photo is never held by two workers, never
    reported twice, and the job ends with every photo reported (done by a worker, or failed as a crasher)."""
    photos = placed(count)
    dispatch = Dispatch(deque(photos), depth=feed_depth(), replacements=0)
    next_worker = 0
    reported: list[BatchItem] = []

    def add() -> None:
        nonlocal next_worker
        dispatch.add_worker(next_worker)
        next_worker += 1

    def check() -> None:
        held = [photo.item for photos_held in dispatch.held.values() for photo in photos_held]
        waiting = [photo.item for photo in [*dispatch.work, *dispatch.suspects]]
        assert len(set(held)) == len(held) and not set(held) & set(waiting) and not set(held) & set(reported)
        assert len(held) + len(waiting) + len(reported) == count

    for _ in range(workers):
        add()
    for action, which in steps:
        live = sorted(dispatch.held)
        worker = live[which % len(live)]
        if action == "feed":
            dispatch.feed(worker)
        elif action == "result" and dispatch.held[worker]:
            photo = dispatch.held[worker][which % len(dispatch.held[worker])]
            dispatch.took(worker, done(photo))
            reported.append(photo.item)
        elif action == "lose":
            reported += [result.item for result in dispatch.lost(worker)]
            add()
        check()
    for _ in range(20 * count * MAX_LONE_LOSSES):  # then the workers that are left finish the job
        if dispatch.finished:
            break
        for worker in sorted(dispatch.held):
            dispatch.feed(worker)
            for photo in list(dispatch.held[worker]):
                dispatch.took(worker, done(photo))
                reported.append(photo.item)
            check()
    assert dispatch.finished and sorted(map(str, reported)) == sorted(str(photo.item) for photo in photos)


def test_the_report_lists_results_in_plan_order() -> None:
    photos = placed(4)
    plan = BatchPlan(items=[photo.item for photo in photos])
    finished = [done(photos[2]), FileResult(photos[0].item, "failed", "x"), done(photos[3]), done(photos[1])]
    assert [result.item for result in in_plan_order(finished, plan)] == plan.items


@pytest.mark.slow  # a fresh interpreter importing the CLI: 3.6 s on the loaded 2-core machine
def test_the_cli_and_the_batch_never_load_ray() -> None:
    code = ("import sys, clearbg_desktop.cli, clearbg_desktop.core.batch.cluster, clearbg_desktop.core.batch; "
            "from clearbg_desktop.cli import build_parser; build_parser().parse_args(['x', '--cluster', 'auto']); "
            "print(sorted(name for name in sys.modules if name == 'ray' or name.startswith('ray.')))")
    answer = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert answer.stdout.strip() == "[]"


def test_without_ray_a_cluster_run_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as in the bundle, or a pip install without [cluster]
    with pytest.raises(ClusterError, match=r"clearbg-desktop\[cluster\]"):
        RayWorkers("auto")
