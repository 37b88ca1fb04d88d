"""ClearBG training package: reproduces the bundled U²-Net weights. Never imported by the app."""
