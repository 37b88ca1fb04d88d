"""Carrying a training run to a borrowed GPU machine that cannot reach the data, and back (README.md here)."""
