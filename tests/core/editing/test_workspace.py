"""The session's photos: a newer request makes older model answers stale; closing picks the next photo."""

from __future__ import annotations

from pathlib import Path

from clearbg_desktop.core.editing.document import Document
from clearbg_desktop.core.editing.workspace import Workspace


def test_only_the_latest_request_counts_and_closing_shows_the_last_photo() -> None:
    workspace = Workspace()
    first, second = Document(title="a.jpg", path=Path("a.jpg")), Document(title="b.jpg", path=Path("b.jpg"))
    workspace.add(first)
    workspace.add(second)
    workspace.current = first
    old = workspace.new_request(first.doc_id)
    new = workspace.new_request(first.doc_id)  # re-run before the first answer came back
    assert not workspace.is_latest(old, first.doc_id) and workspace.is_latest(new, first.doc_id)
    assert workspace.pending == 1
    workspace.finish(first.doc_id)
    assert workspace.pending == 0 and not workspace.is_latest(new, first.doc_id)
    workspace.new_request(second.doc_id)
    assert workspace.remove(first) is second and workspace.current is None
    assert workspace.pending == 1 and workspace.by_id(first.doc_id) is None
    assert workspace.remove(second) is None and workspace.pending == 0
