"""The window's dialogs: export, Export all, batch, preferences, presets, shortcuts, about. They never import the
canvas, the jobs or the window: what they need arrives as arguments."""
