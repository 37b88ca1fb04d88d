"""What every room shares: the WindowContext the parts take (with its status bar, undo stacks, recent files and
question boxes), the filmstrip and refine panel, QImage conversion, icons, keyboard focus. Imports no other room."""
