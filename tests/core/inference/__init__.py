"""Tests of ``clearbg_desktop.core.inference``."""
