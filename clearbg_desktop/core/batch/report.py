"""What a batch did, photo by photo: results, progress, and the report (written, skipped, failed, doubtful), as
the GUI's summary, the CLI's last lines and the JSON report say it."""


from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from clearbg_desktop.core.batch.plan import DEFAULT_REVIEW_THRESHOLD, BatchItem
from clearbg_desktop.core.imaging.output_size import SOFT_ENLARGEMENT

if TYPE_CHECKING:
    import numpy as np

    from clearbg_desktop.core.inference.doubt import Doubt

@dataclass(frozen=True)
class FileResult:
    item: BatchItem
    status: str  # done | skipped | failed
    message: str = ""
    output: Path | None = None
    doubt: Doubt | None = None  # exported photos: how much the mask deserves a look (core.inference.doubt)
    enlarged: float = 1.0  # exported photos: how many times the output enlarges the photo's pixels

    def to_dict(self) -> dict:
        return {"source": str(self.item.source), "output": str(self.output) if self.output else None,
                "status": self.status, "message": self.message,
                "doubt": self.doubt.to_dict() if self.doubt else None,
                "reasons": self.doubt.reasons() if self.doubt else [],
                "enlarged": round(self.enlarged, 2)}


@dataclass(frozen=True)
class Progress:
    """One finished file and where the job stands; yielded once per file."""

    done: int
    total: int
    result: FileResult
    elapsed: float

    @property
    def images_per_second(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        rate = self.images_per_second
        return (self.total - self.done) / rate if rate > 0 else None


@dataclass
class BatchReport:
    results: list[FileResult] = field(default_factory=list)
    cancelled: bool = False
    elapsed: float = 0.0
    log_path: Path | None = None
    engine: str = ""  # the model and engine that ran, e.g. "U²-Net small on CPU (bf16)"
    stopped: str = ""  # why the job stopped early by itself (a full disk), for the user; empty when it did not
    notes: list[str] = field(default_factory=list)  # lines the user should read about the whole job

    def _with(self, status: str) -> list[FileResult]:
        return [r for r in self.results if r.status == status]

    @property
    def done(self) -> list[FileResult]:
        return self._with("done")

    @property
    def skipped(self) -> list[FileResult]:
        return self._with("skipped")

    @property
    def failed(self) -> list[FileResult]:
        return self._with("failed")

    def summary(self) -> str:
        state = "cancelled" if self.cancelled else "stopped" if self.stopped else "finished"
        counts = (f"{len(self.done)} exported, {len(self.skipped)} skipped, "
                  f"{len(self.failed)} failed in {self.elapsed:.1f} s")
        return f"Batch stopped, {self.stopped}: {counts}" if self.stopped else f"Batch {state}: {counts}"

    def doubtful(self, threshold: float = DEFAULT_REVIEW_THRESHOLD) -> list[FileResult]:
        """Exported photos whose doubt is at least ``threshold``, the most doubtful first."""
        scored = [r for r in self.done if r.doubt is not None and r.doubt.score >= threshold]
        return sorted(scored, key=lambda r: -r.doubt.score if r.doubt else 0.0)

    def soft(self) -> list[FileResult]:
        """Exported photos enlarged more than :data:`SOFT_ENLARGEMENT` times (smaller than the size asked)."""
        return sorted((r for r in self.done if r.enlarged > SOFT_ENLARGEMENT), key=lambda r: -r.enlarged)

    def soft_note(self, names: int = 5) -> str:
        """One line naming the enlarged photos (the first ``names``), or ""."""
        soft = self.soft()
        if not soft:
            return ""
        listed = ", ".join(f"{r.item.source.name} ({r.enlarged:.1f}×)" for r in soft[:names])
        more = f" and {len(soft) - names} more" if len(soft) > names else ""
        return (f"{len(soft)} photo{'s were' if len(soft) != 1 else ' was'} enlarged more than {SOFT_ENLARGEMENT:g}× "
                f"to reach the size asked and may look soft: {listed}{more}")

    def lines(self) -> list[str]:
        out = [self.summary()]
        soft = self.soft_note(names=len(self.results))
        if soft:
            out.append(soft)
        out += [f"note: {note}" for note in self.notes]
        out += [f"FAILED  {r.item.source}: {r.message}" for r in self.failed]
        out += [f"note    {r.item.source}: {r.message}" for r in self.done if r.message]
        out += [f"skipped {r.item.source}: {r.message}" for r in self.skipped]
        return out

    def write_log(self, folder: Path) -> Path:
        """Write ``folder/batch-<timestamp>.log`` and, beside it, the same as JSON with every photo's doubt."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"batch-{datetime.now():%Y%m%d-%H%M%S-%f}.log"
        body = self.lines() + [f"model   {self.engine}"] * bool(self.engine)
        body += [f"done    {r.item.source} -> {r.output}{doubt_note(r)}" for r in self.done]
        path.write_text("\n".join(body) + "\n", encoding="utf-8")
        report = {"summary": self.summary(), "engine": self.engine, "cancelled": self.cancelled,
                  "elapsed_s": round(self.elapsed, 2),
                  "files": [r.to_dict() for r in self.results]}
        path.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        self.log_path = path
        return path


def doubt_note(result: FileResult) -> str:
    if result.doubt is None:
        return ""
    reasons = result.doubt.reasons()
    return f"  doubt {result.doubt.score:.2f}" + (f" ({', '.join(reasons)})" if reasons else "")


def written_mask(output: Path, size: tuple[int, int]) -> np.ndarray | None:
    """The mask a batch wrote into ``output`` (HxW uint8), read back for review; None when the file cannot give
    it whole: another size (cropped, resized), no alpha (JPEG), or unreadable."""
    import numpy as np  # not loaded for ``clearbg-cli --help``

    try:
        with Image.open(output) as image:
            if image.size != tuple(size):
                return None
            if image.mode in ("RGBA", "LA", "PA"):
                return np.asarray(image.getchannel("A"), np.uint8).copy()
            if image.mode == "L":  # a mask-only output is the mask
                return np.asarray(image, np.uint8).copy()
            if image.mode.startswith("I;16") or image.mode == "I":  # a 16-bit mask-only output
                return (np.asarray(image, np.uint32) >> 8).astype(np.uint8)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return None
