"""Each photo's flag in a shoot: done, needs work, rejected, or none.

Why: a product photographer culls 300 cut-outs, not one. Lightroom's flags (P pick, X reject, U unflag) are what
their hands know, so the same keys mark a cut-out done, rejected or back to unflagged, plus "needs work" for the
ones to come back to. Projects and session files carry the flag, so it is checked here like any field read.
"""

from __future__ import annotations

FLAGS = ("done", "needs-work", "reject")
FLAG_LABELS = {"done": "Done", "needs-work": "Needs work", "reject": "Rejected", None: "Unflagged"}
FLAG_MARKS = {"done": "✔", "needs-work": "⚑", "reject": "✖", None: ""}
FLAG_FILTERS = ("all", "done", "needs-work", "reject", "unflagged", "not-rejected")
FLAG_FILTER_LABELS = {"all": "All photos", "done": "Done", "needs-work": "Needs work", "reject": "Rejected",
                      "unflagged": "Unflagged", "not-rejected": "All but rejected"}


def check_flag(value: object) -> str | None:
    """A flag as read from a file: one of :data:`FLAGS` or None; anything else is refused with a sentence."""
    if value is None or value in FLAGS:
        return value  # type: ignore[return-value]
    raise ValueError(f"its flag {value!r:.40} is not one of {', '.join(FLAGS)}")


def flag_passes(flag: str | None, wanted: str) -> bool:
    """Does a photo flagged ``flag`` pass the grid's filter ``wanted`` (one of :data:`FLAG_FILTERS`)?"""
    if wanted == "all":
        return True
    if wanted == "unflagged":
        return flag is None
    if wanted == "not-rejected":
        return flag != "reject"
    return flag == wanted
