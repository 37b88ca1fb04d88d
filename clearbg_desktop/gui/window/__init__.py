"""The app and its main window: builds the rooms, wires their signals, owns menus, actions and docks."""
