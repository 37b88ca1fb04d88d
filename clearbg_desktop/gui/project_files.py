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
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer
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
from clearbg_desktop.core.file_hash import sha256_file
from clearbg_desktop.core.imaging.compose import Background
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.imaging.image_io import OutputError, pid_alive
from clearbg_desktop.core.paths import autosave_dir
from clearbg_desktop.gui.undo import MaskEditCommand
from clearbg_desktop.gui.workers import SegmentRequest

if TYPE_CHECKING:
    from clearbg_desktop.gui.main_window import MainWindow


class ProjectFiles(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self._autosaved_at: dict[int, int] = {}  # doc id -> undo index when last autosaved
        self.restoring = False  # replaying a project's history: one repaint at the end, not one per edit
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(window.settings.autosave_minutes * 60_000)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()

    def set_autosave_minutes(self, minutes: int) -> None:
        """Preferences ▸ Autosave every: kept in the settings, and the timer follows at once."""
        self.window.settings.autosave_minutes = minutes
        self.window.settings.save()
        self.autosave_timer.setInterval(minutes * 60_000)

    # ----- saving ------------------------------------------------------------------------
    def project_of(self, document: Document) -> Project:
        """The document as a project (its undo stack is the history)."""
        assert document.path is not None and document.alpha is not None
        if document.photo_sha256 is None:
            document.photo_sha256 = sha256_file(document.path)
        stack = self.window.undo_stacks[document.doc_id]
        history = [command.edit for command in (stack.command(i) for i in range(stack.count()))
                   if isinstance(command, MaskEditCommand)]
        settings = self.window.settings
        try:
            from clearbg_desktop.core.inference.weights import find_weights

            weights_sha256: str | None = find_weights(settings.model).sha256
        except Exception:  # noqa: BLE001 - a project still saves when the model's manifest is unreadable
            weights_sha256 = None
        return Project(photo_path=document.path.resolve(), photo_sha256=document.photo_sha256,
                       alpha=document.alpha.copy(), predicted=document.predicted, model=settings.model,
                       weights_sha256=weights_sha256, export_options=document.export_options or settings.export,
                       history=history, position=stack.index())

    def can_save(self, document: Document | None) -> bool:
        return document is not None and document.ready and document.path is not None

    def save(self, document: Document | None = None, ask: bool = False) -> Path | None:
        """File ▸ Save (Ctrl+S); ``ask`` or a photo never saved: where to, first (Save As)."""
        document = document or self.window.workspace.current
        if document is None or not document.ready:
            return None
        if document.path is None:
            self.window.show_error("Cannot save a project", f"{document.title} has no file on disk for a project "
                                   "to refer to (a pasted image): export it instead.")
            return None
        target = document.project_path
        if target is None or ask:
            suggested = document.project_path or document.path.with_suffix(PROJECT_SUFFIX)
            chosen, _ = QFileDialog.getSaveFileName(self.window, "Save project", str(suggested),
                                                    f"ClearBG projects (*{PROJECT_SUFFIX})")
            if not chosen:
                return None
            target = Path(chosen) if chosen.endswith(PROJECT_SUFFIX) else Path(chosen + PROJECT_SUFFIX)
        try:
            written = save_project(self.project_of(document), target)
        except (OutputError, OSError) as exc:
            self.window.show_error("Could not save the project", str(exc))
            return None
        document.project_path = written
        self.window.update_title()
        self.window.undo_stacks[document.doc_id].setClean()
        self._drop_autosave(document)
        self.window.window_actions.remember_recent(written)
        self.window.statusBar().showMessage(f"Saved {written}", 5000)
        return written

    def save_as(self) -> Path | None:
        return self.save(ask=True)

    def save_all_unsaved(self) -> bool:
        """The quit prompt's Save: every photo with unsaved edits; False when one was not saved."""
        return all(self.save(document) is not None for document in self.window.quit_guard.unexported_documents()
                   if self.can_save(document))

    # ----- opening -----------------------------------------------------------------------
    def open(self, path: Path, recovered: bool = False) -> Document | None:
        """File ▸ Open of a ``.clearbg``: the photo is decoded off the GUI thread; the mask and history follow."""
        try:
            project = read_project(path)
        except ProjectError as exc:
            self.window.show_error("Could not open the project", str(exc))
            return None
        photo = self._find_photo(project, path)
        if photo is None:
            return None
        project.export_options = self._confirmed_background(project, path)
        origin = project.origin if recovered else path  # recovered work saves to the project it came from
        document = Document(title=photo.name, path=photo, project_path=origin,
                            restore=project, photo_sha256=project.photo_sha256,
                            recovered_from=path if recovered else None)
        window = self.window
        window.add_document(document)
        window.submit(SegmentRequest(window.workspace.new_request(document.doc_id), document.doc_id, path=photo,
                                     segment=False))
        if not recovered:
            window.window_actions.remember_recent(path)
        window.show_document(document)
        return document

    def _find_photo(self, project: Project, path: Path) -> Path | None:
        """Where it was, beside the project, or wherever the user points; always checked by its hash."""
        for candidate in (project.photo_path, path.parent / project.photo_path.name):
            if candidate.is_file() and photo_matches(project, candidate):
                return candidate
        name = project.photo_path.name
        while True:
            chosen, _ = QFileDialog.getOpenFileName(self.window, f"Where is {name}? (moved since {path.name} was "
                                                    "saved)", str(path.parent), f"The photo ({name});;All files (*)")
            if not chosen:
                self.window.statusBar().showMessage(f"{path.name} not opened: its photo {name} was not found", 8000)
                return None
            if photo_matches(project, Path(chosen)):
                return Path(chosen)
            answer = QMessageBox.warning(self.window, "Not the same photo",
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
            self.window, "Use the project's background image?",
            f"{path.name} puts its cut-out on the background image\n{background.image_path}\n\nUse that file in "
            "exports? Say No unless you know where this project comes from.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        if answer == QMessageBox.StandardButton.Yes:
            return options
        self.window.statusBar().showMessage(f"{path.name}: its background image is not used (transparent instead)",
                                            8000)
        return options.with_changes(background=Background(color=background.color))

    def restore(self, document: Document) -> None:
        """The photo of a reopened project is decoded: put back its masks and its undo history."""
        project = document.restore
        assert project is not None and document.loaded is not None
        document.restore = None
        if document.loaded.size != (project.alpha.shape[1], project.alpha.shape[0]):
            self.window.show_error("Could not open the project", f"{document.title} does not match the project's "
                                   "mask (its size differs)")
            return
        document.predicted = project.predicted if project.predicted is not None else project.alpha.copy()
        document.alpha = project.alpha.copy()
        document.export_options = project.export_options
        stack = self.window.undo_stacks[document.doc_id]
        repaint = self.window.repaint_edit
        self.restoring = True
        try:
            for edit in project.history:  # redoing every edit in order from the saved mask ends at the saved mask …
                stack.push(MaskEditCommand(document, edit, repaint))
            stack.setIndex(project.position)  # … and undoing the ones after the position gives it back exactly
        finally:
            self.restoring = False
        if document.recovered_from is None:
            stack.setClean()
        else:  # not saved anywhere but in this session's autosave (from now on)
            stack.resetClean()
            document.recovered_from.unlink(missing_ok=True)
            document.recovered_from = None
            self.window.statusBar().showMessage(f"Recovered {document.title}: save it to keep it", 10000)

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
        for document in self.window.workspace.documents:
            stack = self.window.undo_stacks.get(document.doc_id)
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
                self.window.statusBar().showMessage(f"Autosave failed: {exc}", 8000)
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
        """Autosaves of ClearBG processes that ended without quitting."""
        found = []
        for path in sorted(autosave_dir().glob(f"*{PROJECT_SUFFIX}")):
            pid = path.stem.split("-", 1)[0]
            if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
                found.append(path)
        return found

    def offer_recovery(self) -> QMessageBox | None:
        """At start: photos a crash left unsaved can be recovered (or discarded)."""
        found = self.left_by_crash()
        if not found:
            return None
        names = ", ".join(recovered_name(path) for path in found[:5]) + (" …" if len(found) > 5 else "")
        box = QMessageBox(QMessageBox.Icon.Question, "Recover unsaved work?",
                          f"ClearBG did not close properly last time. {len(found)} photo(s) had edits that were "
                          f"not saved: {names}. Recover them?", QMessageBox.StandardButton.NoButton, self.window)
        box.setObjectName("RecoverQuestion")
        recover = box.addButton("Recover", QMessageBox.ButtonRole.AcceptRole)
        discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("Later", QMessageBox.ButtonRole.RejectRole)

        def chosen(button: object) -> None:
            if button is recover:
                for path in found:  # each autosave is deleted once its photo and mask are back
                    self.open(path, recovered=True)
            elif button is discard:
                for path in found:
                    path.unlink(missing_ok=True)

        box.buttonClicked.connect(chosen)
        box.open()
        self.window.message_box = box
        return box


def recovered_name(autosave: Path) -> str:
    """The photo an autosave holds, for the Recover question (its project's name when it came from one)."""
    try:
        project = read_project(autosave)
    except ProjectError:
        return f"{autosave.name} (damaged)"
    name = project.photo_path.name
    return f"{name} (project {project.origin.name})" if project.origin is not None else name
