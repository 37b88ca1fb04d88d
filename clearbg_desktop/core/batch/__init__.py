"""Batches: many photos (and projects) exported with one setting, as a cancellable generator the GUI, the CLI
and a cluster run alike.

    naming.py       the ONE output planner: every output's name, same-named photos tagged, originals refused
    records.py      which photo wrote each output, so "skip" means this photo's own output
    plan.py         what a batch will do before it starts (photos found, outputs planned, problems)
    model_calls.py  threads, photos per call and the model call itself
    writing.py      where an output goes against the records, written atomically
    running.py      ``iter_export``: decode, model and encode overlapped, isolated per photo, resumable; its three
                    steps (place, write, record) are what a cluster run spreads over machines
    cluster.py      ``iter_cluster_export``: the same job on Ray workers (the driver's bookkeeping: who holds what,
                    retries after a lost worker); ``clearbg-cli --cluster``
    ray_workers.py  the only module that imports Ray (an optional extra), and only when a cluster run starts
    projects.py     projects exported beside a batch's photos
    report.py       results, progress and the report with its doubt

Import from the module that holds a name; the names below are the batch's public face for the GUI and the CLI.
"""

from __future__ import annotations

from clearbg_desktop.core.batch.plan import (
    DEFAULT_REVIEW_THRESHOLD,
    EXISTING_POLICIES,
    BatchItem,
    BatchPlan,
    EditedPhoto,
    count_photos,
    plan_batch,
)
from clearbg_desktop.core.batch.projects import export_projects
from clearbg_desktop.core.batch.report import BatchReport, FileResult, Progress, written_mask
from clearbg_desktop.core.batch.running import iter_export

__all__ = [
    "DEFAULT_REVIEW_THRESHOLD", "EXISTING_POLICIES", "BatchItem", "BatchPlan", "BatchReport", "EditedPhoto",
    "FileResult", "Progress", "count_photos", "export_projects", "iter_export", "plan_batch", "written_mask",
]
