"""PySide6 front end: thin Qt layers over ``clearbg_desktop.core``, in rooms (import contracts in pyproject.toml):

    window/   the app and the main window: actions and menus, docks, the quit question; wires the other rooms
    jobs/     work off the GUI thread and its bookkeeping: the inference worker, batch and export runners,
              the mask scheduler, photo memory, project files and autosave
    dialogs/  export, Export all, batch, preferences, presets, shortcuts, about: each takes a small context
    canvas/   the photo view, its overlays, split and hold-to-compare; hosts the active tool, not what tools do
    tools/    one class per canvas tool behind one small interface (press / move / release / cursor / hint)
    widgets/  what every room shares: the window context the parts take, the status bar, undo stacks,
              the filmstrip and side panels, QImage conversion, icons, question boxes, keyboard focus

Each room imports only the rooms below it in that list (canvas and dialogs never import each other).
"""
