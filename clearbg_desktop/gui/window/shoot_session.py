"""Shoot ▸ Save session: every open photo, its mask, history, flag and settings in one ``.clearbg-session`` file
(``core.editing.session``), reopened with the same filmstrip, grid and undo history; its crash autosave.

Writing and reading run off the GUI thread, one photo at a time: a session of 300 photos at 24 MP takes a couple
of minutes to write the first time (two 16-bit mask PNGs each), so a photo unchanged since the file was last
written or read is copied over as it is, and the progress dialog can cancel (the previous file stays).
The GUI thread only takes snapshots (packed masks are immutable; a photo on screen has its masks copied).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog

from clearbg_desktop.core.editing.document import Document, FileStamp, PackedMasks, file_stamp
from clearbg_desktop.core.editing.project import Project, ProjectError
from clearbg_desktop.core.editing.session import (
    SESSION_SUFFIX,
    GridView,
    SessionError,
    SessionPhoto,
    read_member,
    read_session,
    read_session_photo,
    write_session,
)
from clearbg_desktop.core.editing.shoot import mask_thumbnail
from clearbg_desktop.core.file_hash import sha256_file
from clearbg_desktop.core.imaging.atomic_write import OutputError
from clearbg_desktop.core.imaging.compose import Background
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.paths import autosave_dir
from clearbg_desktop.gui.jobs.project_files import ProjectFiles, ask_to_recover, autosave_pid, autosaves_left_by_crash
from clearbg_desktop.gui.widgets.window_context import WindowContext
from clearbg_desktop.gui.window.shoot_view import ShootView, thumbnail_size

Token = tuple[int, str | None, ExportOptions | None]  # (revision, flag, settings): what a written member holds


@dataclass
class _Snapshot:
    """What the writer thread needs of one photo, taken on the GUI thread."""

    doc_id: int
    path: Path
    flag: str | None
    token: Token
    reuse: tuple[Path, str] | None  # (session file, member) holding exactly this photo's state
    options: ExportOptions | None = None  # its own settings (kept with a photo kept by path)
    project: Project | None = field(default=None, repr=False)  # with masks, or None: kept by path
    packed: PackedMasks | None = field(default=None, repr=False)  # masks to unpack in the thread


@dataclass
class _Restored:
    """One photo read off the GUI thread, ready to become a Document."""

    number: int
    photo: SessionPhoto
    found: Path | None = None
    project: Project | None = None
    masks: PackedMasks | None = None
    stamp: FileStamp | None = None
    thumbnail: np.ndarray | None = None
    member: tuple[Path, str] | None = None
    problem: str = ""


class _Signals(QObject):
    written = Signal(int)
    finished = Signal(str, str)  # target, error ("" when written)
    restored = Signal(object)
    read_done = Signal(str)


class ShootSession(QObject):
    """The session file of one window.

    Signals:
        saved(str): a session file was written (its path).
        opened(str): a session file was read to its end (its path).
    """

    saved = Signal(str)
    opened = Signal(str)

    def __init__(self, context: WindowContext, shoot: ShootView, projects: ProjectFiles,
                 add_restored: Callable[[Document], None], open_photo: Callable[[Path], Document | None]) -> None:
        super().__init__(context.parent)
        self.context, self.shoot, self.projects = context, shoot, projects
        self.add_restored, self.open_photo = add_restored, open_photo
        self.path: Path | None = None
        self.written: dict[int, tuple[Token, Path, str]] = {}  # doc id -> what its member in a file holds
        self.signals = _Signals()
        self.signals.written.connect(self._on_written)
        self.signals.finished.connect(self._on_finished)
        self.signals.restored.connect(self._on_restored)
        self.signals.read_done.connect(self._on_read_done)
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._progress: QProgressDialog | None = None
        self._saved_flags: dict[int, str] = {}  # as last saved to or read from a session file
        self._autosaved: tuple | None = None
        self._reading: list[Path] = []
        self._missing: list[str] = []
        self._backgrounds: dict[int, Background] = {}  # photo number -> its background image, until asked
        self._own_backgrounds: dict[int, Background] = {}  # doc id -> the same
        self._current: int | None = None
        self._grid: GridView | None = None
        self.save_action = QAction("Save &session", context.parent)
        self.save_action.setShortcut(QKeySequence("Ctrl+Alt+S"))
        self.save_action.setToolTip("Every open photo with its mask, history, flag and settings in one file")
        self.save_action.triggered.connect(lambda: self.save())
        self.save_as_action = QAction("Save session &as…", context.parent)
        self.save_as_action.triggered.connect(lambda: self.save(ask=True))
        for action in (self.save_action, self.save_as_action):
            context.parent.addAction(action)
        projects.autosave_timer.timeout.connect(self.autosave)

    def _flags(self) -> dict[int, str]:
        return {d.doc_id: d.flag for d in self.context.workspace.documents if d.flag is not None}

    def unsaved_flags(self) -> int:
        """Photos whose flag changed since the shoot was last saved as, or opened from, a session file."""
        now, saved = self._flags(), self._saved_flags
        return sum(now.get(doc_id) != saved.get(doc_id) for doc_id in now.keys() | saved.keys()
                   if self.context.workspace.by_id(doc_id) is not None)

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ----- writing -----------------------------------------------------------------------
    def _token(self, document: Document) -> Token:
        return document.revision, document.flag, document.export_options

    def _snapshots(self, embed_unedited: bool) -> list[_Snapshot]:
        snapshots = []
        settings = self.context.settings
        for document in self.shoot.documents_in_order():
            if document.path is None:
                continue  # a pasted image has no file for a session to name
            token = self._token(document)
            written = self.written.get(document.doc_id)
            reuse = (written[1], written[2]) if written is not None and written[0] == token else None
            snapshot = _Snapshot(document.doc_id, document.path, document.flag, token, reuse, document.export_options)
            wanted = embed_unedited or document.mask_edited or not self.context.undo.is_clean(document)
            if reuse is None and document.restore is not None:  # a project still being opened: that project
                snapshot.project = replace(document.restore, flag=document.flag)
            elif reuse is None and wanted and document.has_mask:
                history, position = self.context.undo.history(document)
                snapshot.packed = document.packed_masks()
                alpha = None if snapshot.packed is not None else document.mask_for_export()
                predicted = None if snapshot.packed is not None else document.predicted
                snapshot.project = Project(
                    photo_path=document.path.resolve(), photo_sha256=document.photo_sha256 or "",
                    alpha=np.empty((0, 0), np.uint8) if alpha is None else alpha.copy(),
                    predicted=None if predicted is None else predicted.copy(), model=settings.model,
                    export_options=document.export_options or settings.export, history=history, position=position,
                    flag=document.flag)
            elif reuse is not None and not wanted and not embed_unedited:
                snapshot.reuse = None  # an autosave keeps unedited photos by path
            snapshots.append(snapshot)
        return snapshots

    def save(self, ask: bool = False, target: Path | None = None) -> bool:
        """Shoot ▸ Save session (Ctrl+Alt+S): to the session's file, or where the user says first; in the
        background with a progress dialog. Returns whether writing started."""
        if self.busy:
            self.context.status.showMessage("The session is being written already", 5000)
            return False
        documents = [d for d in self.context.workspace.documents if d.path is not None]
        if not documents:
            self.context.status.showMessage("No photos from files are open: nothing to save in a session", 5000)
            return False
        target = target or (None if ask else self.path)
        if target is None:
            folder = documents[0].path.parent if documents[0].path is not None else Path.home()
            suggested = self.path or folder / f"{folder.name or 'Shoot'}{SESSION_SUFFIX}"
            chosen, _ = QFileDialog.getSaveFileName(self.context.parent, "Save session", str(suggested),
                                                    f"ClearBG sessions (*{SESSION_SUFFIX})")
            if not chosen:
                return False
            target = Path(chosen if chosen.endswith(SESSION_SUFFIX) else chosen + SESSION_SUFFIX)
        snapshots = self._snapshots(embed_unedited=True)
        pasted = len(self.context.workspace.documents) - len(snapshots)
        if pasted:
            self.context.status.showMessage(f"{pasted} pasted image(s) have no file: not in the session (export "
                                            "them)", 8000)
        self._progress = progress = QProgressDialog(f"Saving the session {target.name}…", "Cancel", 0,
                                                    len(snapshots), self.context.parent)
        progress.setObjectName("SessionProgress")
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(500)
        progress.canceled.connect(self._cancel.set)
        self._start_writing(target, snapshots, private=False)
        return True

    def _start_writing(self, target: Path, snapshots: list[_Snapshot], private: bool) -> None:
        self._cancel.clear()
        current = self.context.workspace.current
        ids = [snapshot.doc_id for snapshot in snapshots]
        number = ids.index(current.doc_id) if current is not None and current.doc_id in ids else None
        view = self.shoot.panel.view()
        grid = GridView(self.shoot.grid_shown, view.sort, view.filter, view.size)
        self._writing = (target, snapshots, private)
        origin = self.path if private else None  # an autosave names the file the shoot belongs to
        self._thread = threading.Thread(target=self._write, args=(target, snapshots, number, grid, private, origin),
                                        name="clearbg-session", daemon=True)
        self._thread.start()

    def _photos(self, snapshots: list[_Snapshot]) -> Iterator[SessionPhoto]:
        """Each photo made only when the writer reaches it (one photo's masks in memory at a time)."""
        for snapshot in snapshots:
            if self._cancel.is_set():
                raise _Cancelled
            photo = SessionPhoto(snapshot.path, snapshot.flag, export_options=snapshot.options)
            if snapshot.reuse is not None:
                photo.reuse = read_member(*snapshot.reuse)
            elif snapshot.project is not None:
                project = snapshot.project
                if snapshot.packed is not None:
                    project.alpha, project.predicted = snapshot.packed.unpack()
                if not project.photo_sha256:
                    project.photo_sha256 = sha256_file(snapshot.path)
                photo.project = project
            yield photo

    def _write(self, target: Path, snapshots: list[_Snapshot], current: int | None, grid: GridView,
               private: bool, origin: Path | None) -> None:
        try:
            for count in write_session(target, self._photos(snapshots), current, grid, private=private,
                                       origin=origin):
                self.signals.written.emit(count)
                if self._cancel.is_set():
                    raise _Cancelled
        except _Cancelled:
            self.signals.finished.emit(str(target), "cancelled")
            return
        except (SessionError, OutputError, ProjectError, OSError, ValueError) as exc:
            self.signals.finished.emit(str(target), str(exc) or type(exc).__name__)
            return
        self.signals.finished.emit(str(target), "")

    def _on_written(self, count: int) -> None:
        if self._progress is not None:
            self._progress.setValue(count)

    def _on_finished(self, target_text: str, error: str) -> None:
        self._thread = None
        target, snapshots, private = self._writing
        if self._progress is not None:
            self._progress.reset()
            self._progress.deleteLater()
            self._progress = None
        if error == "cancelled":
            self.context.status.showMessage(f"Saving {target.name} cancelled: the file is as it was", 6000)
            return
        if error:
            if private:
                self.context.status.showMessage(f"Autosave of the session failed: {error}", 8000)
            else:
                self.context.messages.show_error("Could not save the session", error)
            return
        if private:
            return
        embedded = 0
        for number, snapshot in enumerate(snapshots):
            if snapshot.project is not None or snapshot.reuse is not None:
                self.written[snapshot.doc_id] = (snapshot.token, target, f"photos/{number:04d}.clearbg")
                embedded += 1
            document = self.context.workspace.by_id(snapshot.doc_id)
            stack = self.context.undo.stacks.get(snapshot.doc_id)
            if document is not None and stack is not None and self._token(document) == snapshot.token:
                stack.setClean()  # saved: the quit question and the title's * know
        self.path = target
        self._saved_flags = {s.doc_id: s.flag for s in snapshots if s.flag is not None}
        self.context.recent.remember(target)
        self.context.status.showMessage(f"Saved the session {target} ({len(snapshots)} photos)", 6000)
        self.saved.emit(str(target))

    # ----- autosave ----------------------------------------------------------------------
    def autosave_path(self) -> Path:
        return autosave_dir() / f"{os.getpid()}-shoot{SESSION_SUFFIX}"

    def autosave(self) -> bool:
        """A crash autosave of the whole shoot (two photos or more): edited photos with their masks and history,
        the others by path (their masks are the model's: cut out again on recovery); only when something changed."""
        documents = [d for d in self.context.workspace.documents if d.path is not None]
        if len(documents) < 2 or self.busy:
            return False
        state = tuple((d.doc_id, *self._token(d)) for d in documents)
        if state == self._autosaved:
            return False
        self._autosaved = state
        try:
            self.projects._private_autosave_dir()
        except OSError:
            return False
        self._start_writing(self.autosave_path(), self._snapshots(embed_unedited=False), private=True)
        return True

    def clean_quit(self) -> None:
        self._cancel.set()
        if self._thread is not None:
            self._thread.join()
        self.autosave_path().unlink(missing_ok=True)

    @staticmethod
    def left_by_crash() -> list[Path]:
        return autosaves_left_by_crash(f"*-shoot{SESSION_SUFFIX}")

    def offer_recovery(self) -> QMessageBox | None:
        """At start: a shoot a crash left open comes back whole (its per-photo autosaves are in it too)."""
        found = self.left_by_crash()
        if not found:
            return None
        try:
            photos = sum(len(read_session(path).photos) for path in found)
        except SessionError:
            photos = 0

        def recover() -> None:
            for path in found:
                self._drop_project_autosaves(path)
                self.open(path, recovered=True)

        def discard() -> None:
            for path in found:
                self._drop_project_autosaves(path)
                path.unlink(missing_ok=True)

        return ask_to_recover(self.context, "RecoverShootQuestion", "Recover the shoot?",
                              f"The shoot that was open ({photos} photos, with their flags and unsaved edits) can be "
                              "opened again. Recover it?", recover, discard)

    @staticmethod
    def _drop_project_autosaves(session_autosave: Path) -> None:
        for path in autosave_dir().glob(f"{autosave_pid(session_autosave)}-*.clearbg"):
            path.unlink(missing_ok=True)

    # ----- reading -----------------------------------------------------------------------
    def open(self, path: Path, recovered: bool = False) -> bool:
        """Open a session: its photos join the open ones in its order, each with its mask, history and flag."""
        if self.busy:
            self.context.status.showMessage("A session is being read or written; try again when it is done", 5000)
            return False
        try:
            session = read_session(path)
        except SessionError as exc:
            self.context.messages.show_error("Could not open the session", str(exc))
            return False
        self._missing, self._backgrounds, self._own_backgrounds = [], {}, {}
        self._current, self._grid = session.current, session.grid
        self._recovered = recovered
        self._origin = session.origin if recovered else None
        self._opened_ids: list[int] = []
        self._cancel.clear()
        if not recovered:
            self.path = path
            self.context.recent.remember(path)
        self.context.status.showMessage(f"Opening the session {path.name} ({len(session.photos)} photos)…")
        self._thread = threading.Thread(target=self._read, args=(path, session.photos), name="clearbg-session-read",
                                        daemon=True)
        self._thread.start()
        return True

    def _read(self, path: Path, photos: list[SessionPhoto]) -> None:
        for number, photo in enumerate(photos):
            if self._cancel.is_set():
                break
            self.signals.restored.emit(self._restore_one(path, number, photo))
        self.signals.read_done.emit(str(path))

    @staticmethod
    def _restore_one(path: Path, number: int, photo: SessionPhoto) -> _Restored:
        restored = _Restored(number, photo)
        candidates = [photo.photo_path, path.parent / photo.photo_path.name]
        if photo.member is None:
            restored.found = next((c for c in candidates if c.is_file()), None)
            if restored.found is None:
                restored.problem = f"{photo.photo_path.name} (not found)"
            return restored
        try:
            project, _data = read_session_photo(path, photo)
        except (ProjectError, SessionError) as exc:
            restored.problem = str(exc)
            return restored
        for candidate in candidates:
            stamp = file_stamp(candidate) if candidate.is_file() else None
            if stamp is not None and stamp[1] == project.photo_sha256:
                restored.found, restored.stamp = candidate, stamp
                break
        if restored.found is None:
            restored.problem = f"{photo.photo_path.name} (not found, or not the photo the session was saved with)"
            return restored
        restored.masks = PackedMasks.pack(project.alpha, project.predicted)
        restored.thumbnail = mask_thumbnail(project.alpha, thumbnail_size(project.alpha.shape))
        project.alpha = project.predicted = None  # type: ignore[assignment]  # packed now: one photo at a time
        restored.project = project
        restored.member = (path, photo.member)
        return restored

    def _on_restored(self, restored: _Restored) -> None:
        photo = restored.photo
        if restored.problem:
            self._missing.append(restored.problem)
            return
        assert restored.found is not None
        already = self.context.open_document_of(restored.found)
        if already is not None:
            self._opened_ids.append(already.doc_id)
            return  # open already: it stays as it is
        project = restored.project
        if project is None:
            document = self.open_photo(restored.found)
            if document is not None:
                self.shoot.set_flag(document, photo.flag)
                options = photo.export_options
                if options is not None and options.background.kind == "image":  # asked at the end, as below
                    self._own_backgrounds[document.doc_id] = options.background
                    options = options.with_changes(background=Background(color=options.background.color))
                document.export_options = options or document.export_options
                self._opened_ids.append(document.doc_id)
            return
        assert restored.masks is not None
        options = project.export_options
        if options.background.kind == "image":  # asked once for the whole session, at its end
            self._backgrounds[restored.number] = options.background
            options = options.with_changes(background=Background(color=options.background.color))
        document = Document(title=restored.found.name, path=restored.found, photo_sha256=project.photo_sha256,
                            export_options=options, flag=photo.flag)
        document.restore_packed(_size_of(restored.masks), restored.masks, restored.stamp)
        self.add_restored(document)
        self.context.undo.replay(document, project.history, project.position)
        stack = self.context.undo.stacks[document.doc_id]
        if self._recovered and (project.history or project.predicted is not None):
            stack.resetClean()
        else:
            stack.setClean()
        if restored.thumbnail is not None:
            self.shoot.show_mask(document, restored.thumbnail)
        if not self._recovered and restored.member is not None:
            self.written[document.doc_id] = (self._token(document), *restored.member)
        self._opened_ids.append(document.doc_id)
        if restored.number in self._backgrounds:
            self._own_backgrounds[document.doc_id] = self._backgrounds.pop(restored.number)

    def _adopt_origin(self) -> None:
        """A recovered shoot saves to the session file it came from, and its flags count as changed only where they
        differ from that file's (walk 40: all 10 flags were said unsaved, and Save offered a new file)."""
        origin = self._origin
        if origin is None or not origin.is_file():
            return
        self.path = origin
        try:
            saved = {str(photo.photo_path): photo.flag for photo in read_session(origin).photos}
        except SessionError:
            return
        for doc_id in self._opened_ids:
            document = self.context.workspace.by_id(doc_id)
            flag = saved.get(str(document.path)) if document is not None else None
            if flag is not None:
                self._saved_flags[doc_id] = flag

    def _confirm_backgrounds(self, path: Path) -> None:
        """A session names background images by path and can come from anyone: asked once for all its photos, as a
        project asks (taken as written, it would put any picture this user can read into the next export)."""
        images = sorted({str(background.image_path) for background in self._own_backgrounds.values()})
        listed = "\n".join(images[:5]) + ("\n…" if len(images) > 5 else "")
        answer = QMessageBox.question(
            self.context.parent, "Use the session's background images?",
            f"{path.name} puts {len(self._own_backgrounds)} cut-out(s) on background images:\n{listed}\n\nUse those "
            "files in exports? Say No unless you know where this session comes from.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        if answer == QMessageBox.StandardButton.Yes:
            for doc_id, background in self._own_backgrounds.items():
                document = self.context.workspace.by_id(doc_id)
                if document is not None and document.export_options is not None:
                    document.export_options = document.export_options.with_changes(background=background)
        self._own_backgrounds = {}

    def _on_read_done(self, path_text: str) -> None:
        self._thread = None
        path = Path(path_text)
        if self._missing:
            shown = "\n".join(f"• {line}" for line in self._missing[:12])
            more = f"\n… and {len(self._missing) - 12} more" if len(self._missing) > 12 else ""
            self.context.messages.show_error("Some photos of the session were not opened",
                                             f"{len(self._missing)} photo(s) of {path.name} could not be opened; the "
                                             f"others are open:\n{shown}{more}")
        if self._own_backgrounds:
            self._confirm_backgrounds(path)
        if self._grid is not None:
            self.shoot.panel.set_view(self._grid)
        ids = self._opened_ids
        if ids:
            number = self._current if self._current is not None and self._current < len(ids) else 0
            document = self.context.workspace.by_id(ids[number])
            if document is not None:
                self.shoot.show_requested.emit(document)
        if self._grid is not None and self._grid.shown:
            self.shoot.set_grid_shown(True)
        if self._recovered:
            self._adopt_origin()
            path.unlink(missing_ok=True)
            self.context.status.showMessage(f"Recovered the shoot ({len(ids)} photos): save it to keep it", 10000)
        else:
            self._saved_flags.update({doc_id: flag for doc_id, flag in self._flags().items() if doc_id in ids})
            self.context.status.showMessage(f"Opened the session {path.name} ({len(ids)} photos)", 6000)
        self.opened.emit(path_text)


class _Cancelled(Exception):
    """The user cancelled writing the session."""


def _size_of(masks: PackedMasks) -> tuple[int, int]:
    height, width = masks.shape
    return width, height
