"""The photo view: zoom and pan, view modes, split and hold-to-compare. It hosts the active tool (``tools/``) and
passes it the mouse; what a press or a drag does to the mask is the tool's business."""
