"""Work that runs beside the window: the inference worker, batch and export runners, the mask scheduler, photo
memory, project files. They take a WindowContext and report through signals; dialogs are opened from here."""
