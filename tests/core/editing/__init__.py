"""Tests of ``clearbg_desktop.core.editing``."""
