"""``python -m clearbg_desktop [FILES...]`` starts the editor."""

from clearbg_desktop.gui.window.app import main

raise SystemExit(main())
