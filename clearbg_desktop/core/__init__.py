"""Qt-free core: everything a photo goes through. Must never import Qt or ``training``."""
