"""Entry point of the frozen command-line executable (PyInstaller)."""

import multiprocessing

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from clearbg_desktop.cli import main

    raise SystemExit(main())
