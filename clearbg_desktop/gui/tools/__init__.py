"""Canvas tools, one class per tool behind ``CanvasTool``, and their options bar. Adding a tool is its own file and
one line in ``registry.py``; the canvas and the window do not change."""
