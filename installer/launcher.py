"""Entry point of the frozen GUI executable (PyInstaller)."""

import multiprocessing

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from clearbg_desktop.gui.app import main

    raise SystemExit(main())
