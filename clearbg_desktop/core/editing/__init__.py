"""The edited document: an open photo, its mask edits and undo data, projects on disk, the workspace.

Mask edits and strokes (``mask_edits``), one open photo (``document``), the open photos and which gets its
mask next (``workspace``, ``mask_queue``, ``memory_budget``), projects (``project``) and previews.

May import: ``core.imaging`` and the shared helpers. Not ``core.inference`` (the editor receives masks; which
model made them is the caller's business), never the GUI or ``training``.
"""
