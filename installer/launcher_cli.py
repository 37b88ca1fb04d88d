"""Entry point of the frozen command-line executable (PyInstaller)."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    if sys.argv[1:2] == ["--raw-helper"]:  # core.imaging.raw_decode.HELPER_FLAG: LibRaw runs in this child
        from clearbg_desktop.core.imaging.raw_decode import serve

        serve()
        raise SystemExit(0)
    from clearbg_desktop.cli import main

    raise SystemExit(main())
