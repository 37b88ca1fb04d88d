"""Qt-free core: everything a photo goes through. Must never import Qt or ``training``.

Rooms, in import order (the import-linter contracts in pyproject.toml enforce it):

- ``batch``, ``settings``: the batch exporter (a cancellable generator the GUI, CLI and review share) and the
  preferences file; they may use every room.
- ``editing/``: the edited document, projects, the workspace.
- ``inference/``: photo -> mask (models, weights, engines, the Segmenter).
- ``imaging/``: pixels in and out (load, compose, refine, encode, export).
- ``paths``, ``file_hash``: small helpers every room may use.

``editing`` and ``inference`` know nothing of each other; ``imaging`` knows neither.
"""
