"""Tests of ``clearbg_desktop.core.imaging``."""
