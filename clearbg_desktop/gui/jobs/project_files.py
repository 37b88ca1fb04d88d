"""File ▸ Save / Open of ``.clearbg`` projects, autosave, and recovery after a crash (``core.editing.project``).

The undo stack is the project's history: saving writes its edits and position, opening pushes them back, so
undo works after reopening. A stack's clean state means "saved or exported": the title's "*" and the quit
prompt both read it. Autosave writes every photo changed since its last autosave into the user data folder
every few minutes, under this process's id; a clean quit deletes them, so any left by a process that is
gone mean a crash, and the next start offers to recover them.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

from clearbg_desktop.core.editing.document import Document
from clearbg_desktop.core.editing.project import (
    PROJECT_SUFFIX,
    Project,
    ProjectError,
    photo_matches,
    read_project,
    save_project,
)
from clearbg_desktop.core.editing.session import SESSION_SUFFIX
from clearbg_desktop.core.file_hash import sha256_file
from clearbg_desktop.core.imaging.atomic_write import OutputError, pid_alive
from clearbg_desktop.core.imaging.compose import Background
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.paths import autosave_dir
from clearbg_desktop.gui.widgets.question_box import Answer
from clearbg_desktop.gui.widgets.window_context import WindowContext


class ProjectFiles(QObject):
    """Projects of one window.

    Signals:
        opened(object): a project's Document was made: the window adds it, decodes its photo (the mask and
            history follow, ``restore``) and shows it.
        saved(object): a Document was saved to its project (the title names the project).
    """

    opened = Signal(object)
    saved = Signal(object)

    def __init__(self, context: WindowContext) -> None:
        super().__init__(context.parent)
        self.context = context
        self._autosaved_at: dict[int, int] = {}  # doc id -> undo index when last autosaved
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(context.settings.autosave_minutes * 60_000)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()

    def set_autosave_minutes(self, minutes: int) -> None:
        """Preferences ▸ Autosave every: kept in the settings, and the timer follows at once."""
        self.context.settings.autosave_minutes = minutes
        self.context.settings.save()
        self.autosave_timer.setInterval(minutes * 60_000)

    # ----- saving ------------------------------------------------------------------------
    def project_of(self, document: Document) -> Project:
        """The document as a project (its undo stack is the history)."""
        assert document.path is not None and document.alpha is not None
        if document.photo_sha256 is None:
            document.photo_sha256 = sha256_file(document.path)
        history, position = self.context.undo.history(document)
        settings = self.context.settings
        try:
            from clearbg_desktop.core.inference.weights import find_weights

            weights_sha256: str | None = find_weights(settings.model).sha256
        except Exception:  # noqa: BLE001 - a project still saves when the model's manifest is unreadable
            weights_sha256 = None
        return Project(photo_path=document.path.resolve(), photo_sha256=document.photo_sha256,
                       alpha=document.alpha.copy(), predicted=document.predicted, model=settings.model,
                       weights_sha256=weights_sha256, export_options=document.export_options or settings.export,
                       history=history, position=position, flag=document.flag)

    def can_save(self, document: Document | None) -> bool:
        return document is not None and document.ready and document.path is not None

    def save(self, document: Document | None = None, ask: bool = False) -> Path | None:
        """File ▸ Save (Ctrl+S); ``ask`` or a photo never saved: where to, first (Save As)."""
        document = document or self.context.workspace.current
        if document is None or not document.ready:
            return None
        if document.path is None:
            self.context.messages.show_error("Cannot save a project", f"{document.title} has no file on disk for a project "
                                   "to refer to (a pasted image): export it instead.")
            return None
        target = document.project_path
        if target is None or ask:
            suggested = document.project_path or document.path.with_suffix(PROJECT_SUFFIX)
            chosen, _ = QFileDialog.getSaveFileName(self.context.parent, "Save project", str(suggested),
                                                    f"ClearBG projects (*{PROJECT_SUFFIX})")
            if not chosen:
                return None
            target = Path(chosen) if chosen.endswith(PROJECT_SUFFIX) else Path(chosen + PROJECT_SUFFIX)
        try:
            written = save_project(self.project_of(document), target)
        except (OutputError, OSError) as exc:
            self.context.messages.show_error("Could not save the project", str(exc))
            return None
        document.project_path = written
        self.saved.emit(document)
        self.context.undo.stacks[document.doc_id].setClean()
        self._drop_autosave(document)
        self.context.recent.remember(written)
        self.context.status.showMessage(f"Saved {written}", 5000)
        return written

    def save_as(self) -> Path | None:
        return self.save(ask=True)

    def save_all_unsaved(self) -> bool:
        """The quit prompt's Save: every photo with unsaved edits; False when one was not saved."""
        return all(self.save(document) is not None for document in self.context.undo.unsaved(self.context.workspace.documents)
                   if self.can_save(document))

    # ----- opening -----------------------------------------------------------------------
    def open(self, path: Path, recovered: bool = False) -> Document | None:
        """File ▸ Open of a ``.clearbg``: the photo is decoded off the GUI thread; the mask and history follow."""
        try:
            project = read_project(path)
        except ProjectError as exc:
            self.context.messages.show_error("Could not open the project", str(exc))
            return None
        photo = self._find_photo(project, path)
        if photo is None:
            return None
        project.export_options = self._confirmed_background(project, path)
        origin = project.origin if recovered else path  # recovered work saves to the project it came from
        document = Document(title=photo.name, path=photo, project_path=origin,
                            restore=project, photo_sha256=project.photo_sha256,
                            recovered_from=path if recovered else None)
        if not recovered:
            self.context.recent.remember(path)
        self.opened.emit(document)
        return document

    def _find_photo(self, project: Project, path: Path) -> Path | None:
        """Where it was, beside the project, or wherever the user points; always checked by its hash."""
        for candidate in (project.photo_path, path.parent / project.photo_path.name):
            if candidate.is_file() and photo_matches(project, candidate):
                return candidate
        name = project.photo_path.name
        while True:
            chosen, _ = QFileDialog.getOpenFileName(self.context.parent, f"Where is {name}? (moved since {path.name} was "
                                                    "saved)", str(path.parent), f"The photo ({name});;All files (*)")
            if not chosen:
                self.context.status.showMessage(f"{path.name} not opened: its photo {name} was not found", 8000)
                return None
            if photo_matches(project, Path(chosen)):
                return Path(chosen)
            answer = QMessageBox.warning(self.context.parent, "Not the same photo",
                                         f"{Path(chosen).name} is not the photo {path.name} was saved with (its "
                                         "content differs). Choose another file?",
                                         QMessageBox.StandardButton.Retry | QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Retry:
                return None

    def _confirmed_background(self, project: Project, path: Path) -> ExportOptions:
        """The project's export settings, with its background image only if the user says it may be used.

        A project names its background by path and can come from anyone: taken as written, it would put any
        picture this user can read into the next export.
        """
        options = project.export_options
        background = options.background
        if background.kind != "image":
            return options
        answer = QMessageBox.question(
            self.context.parent, "Use the project's background image?",
            f"{path.name} puts its cut-out on the background image\n{background.image_path}\n\nUse that file in "
            "exports? Say No unless you know where this project comes from.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        if answer == QMessageBox.StandardButton.Yes:
            return options
        self.context.status.showMessage(f"{path.name}: its background image is not used (transparent instead)",
                                            8000)
        return options.with_changes(background=Background(color=background.color))

    def restore(self, document: Document) -> None:
        """The photo of a reopened project is decoded: put back its masks and its undo history."""
        project = document.restore
        assert project is not None and document.loaded is not None
        document.restore = None
        if document.loaded.size != (project.alpha.shape[1], project.alpha.shape[0]):
            self.context.messages.show_error("Could not open the project", f"{document.title} does not match the project's "
                                   "mask (its size differs)")
            return
        document.predicted = project.predicted if project.predicted is not None else project.alpha.copy()
        document.alpha = project.alpha.copy()
        document.export_options = project.export_options
        document.flag = project.flag if project.flag is not None else document.flag
        stack = self.context.undo.replay(document, project.history, project.position)
        if document.recovered_from is None:
            stack.setClean()
        else:  # not saved anywhere but in this session's autosave (from now on)
            stack.resetClean()
            document.recovered_from.unlink(missing_ok=True)
            document.recovered_from = None
            self.context.status.showMessage(f"Recovered {document.title}: save it to keep it", 10000)

    # ----- autosave and recovery ---------------------------------------------------------
    def _autosave_path(self, document: Document) -> Path:
        return autosave_dir() / f"{os.getpid()}-{document.doc_id}{PROJECT_SUFFIX}"

    @staticmethod
    def _private_autosave_dir() -> Path:
        """The autosave folder, for this user's eyes only (0700) whatever the umask, made so if it was not."""
        folder = autosave_dir()
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if stat.S_IMODE(folder.stat().st_mode) != 0o700:
            folder.chmod(0o700)
        return folder

    def autosave(self) -> list[Path]:
        """Write each photo edited since its last autosave; returns what was written."""
        written = []
        for document in self.context.workspace.documents:
            stack = self.context.undo.stacks.get(document.doc_id)
            if stack is None or not self.can_save(document) or stack.isClean():
                continue
            if self._autosaved_at.get(document.doc_id) == stack.index():
                continue
            try:
                self._private_autosave_dir()
                project = self.project_of(document)
                project.origin = document.project_path
                written.append(save_project(project, self._autosave_path(document), private=True))
            except (OutputError, OSError) as exc:
                self.context.status.showMessage(f"Autosave failed: {exc}", 8000)
                continue
            self._autosaved_at[document.doc_id] = stack.index()
        return written

    def _drop_autosave(self, document: Document) -> None:
        self._autosave_path(document).unlink(missing_ok=True)
        self._autosaved_at.pop(document.doc_id, None)

    def clean_quit(self) -> None:
        """Quitting normally: this session's autosaves are not needed any more."""
        for path in autosave_dir().glob(f"{os.getpid()}-*{PROJECT_SUFFIX}"):
            path.unlink(missing_ok=True)

    @staticmethod
    def left_by_crash() -> list[Path]:
        """Autosaves of ClearBG processes that ended without quitting (not those a shoot's autosave holds)."""
        return [path for path in autosaves_left_by_crash(f"*{PROJECT_SUFFIX}")
                if not (autosave_dir() / f"{autosave_pid(path)}-shoot{SESSION_SUFFIX}").exists()]

    def offer_recovery(self) -> QMessageBox | None:
        """At start: photos a crash left unsaved can be recovered (or discarded)."""
        found = self.left_by_crash()
        if not found:
            return None
        names = ", ".join(recovered_name(path) for path in found[:5]) + (" …" if len(found) > 5 else "")
        def recover() -> None:
            for path in found:  # each autosave is deleted once its photo and mask are back
                self.open(path, recovered=True)

        def discard() -> None:
            for path in found:
                path.unlink(missing_ok=True)

        return ask_to_recover(self.context, "RecoverQuestion", "Recover unsaved work?",
                              f"{len(found)} photo(s) had edits that were not saved: {names}. Recover them?",
                              recover, discard)


def autosave_pid(path: Path) -> str:
    """The process an autosave belongs to (``<pid>-….clearbg``)."""
    return path.name.split("-", 1)[0]


def autosaves_left_by_crash(pattern: str) -> list[Path]:
    """Autosaves matching ``pattern`` whose process is gone: a clean quit deletes its own, so these mean a crash."""
    found = []
    for path in sorted(autosave_dir().glob(pattern)):
        pid = autosave_pid(path)
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            found.append(path)
    return found


def ask_to_recover(context: WindowContext, name: str, title: str, what: str, recover: Callable[[], None],
                   discard: Callable[[], None]) -> QMessageBox:
    """The start-up question after a crash: Recover, Discard, or Later (asked again at the next start)."""
    return context.messages.ask(
        name, title, f"ClearBG did not close properly last time. {what}",
        [Answer("Recover", QMessageBox.ButtonRole.AcceptRole, recover),
         Answer("Discard", QMessageBox.ButtonRole.DestructiveRole, discard),
         Answer("Later", QMessageBox.ButtonRole.RejectRole)], cancel=False)

def recovered_name(autosave: Path) -> str:
    """The photo an autosave holds, for the Recover question (its project's name when it came from one)."""
    try:
        project = read_project(autosave)
    except ProjectError:
        return f"{autosave.name} (damaged)"
    name = project.photo_path.name
    return f"{name} (project {project.origin.name})" if project.origin is not None else name
