"""PySide6 front end: thin widgets over ``clearbg_desktop.core``."""
