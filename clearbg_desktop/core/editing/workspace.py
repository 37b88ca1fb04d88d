"""The open photos of an editing session, which one is shown, and which model request is the latest for each.

A photo can be sent to the model again (re-run, another model) before an older answer arrives; only the
answer to its latest request may change it, so every request gets an id and older answers are stale.
Qt-free, so the rules are tested without a window.
"""

from __future__ import annotations

import itertools

from clearbg_desktop.core.editing.document import Document


class Workspace:
    def __init__(self) -> None:
        self.documents: list[Document] = []
        self.current: Document | None = None
        self._request_ids = itertools.count(1)
        self._latest: dict[int, int] = {}  # doc id -> its latest request id

    def add(self, document: Document) -> None:
        self.documents.append(document)

    def by_id(self, doc_id: int) -> Document | None:
        return next((d for d in self.documents if d.doc_id == doc_id), None)

    def remove(self, document: Document) -> Document | None:
        """Forget ``document`` and its pending request; returns the photo to show next, if it was shown."""
        self.documents.remove(document)
        self._latest.pop(document.doc_id, None)
        if document is not self.current:
            return self.current
        self.current = None
        return self.documents[-1] if self.documents else None

    def new_request(self, doc_id: int) -> int:
        request_id = next(self._request_ids)
        self._latest[doc_id] = request_id
        return request_id

    def is_latest(self, request_id: int, doc_id: int) -> bool:
        return self._latest.get(doc_id) == request_id

    def finish(self, doc_id: int) -> None:
        self._latest.pop(doc_id, None)

    @property
    def pending(self) -> int:
        """Photos waiting for the model."""
        return len(self._latest)
