"""The canvas tools, in the order of their buttons. A new tool is its own module and one line here."""

from __future__ import annotations

from clearbg_desktop.gui.tools.base import CanvasTool
from clearbg_desktop.gui.tools.brushes import EraseBrush, RefineEdgeBrush, RestoreBrush
from clearbg_desktop.gui.tools.lasso import LassoTool
from clearbg_desktop.gui.tools.object_select import ObjectSelectTool

TOOLS: dict[str, type[CanvasTool]] = {tool.name: tool for tool in (
    RestoreBrush, EraseBrush, RefineEdgeBrush, ObjectSelectTool, LassoTool)}
DEFAULT_TOOL = "restore"


def tool_class(name: str) -> type[CanvasTool]:
    """The tool called ``name``; the default one for a name this version does not know (an older settings file)."""
    return TOOLS.get(name, TOOLS[DEFAULT_TOOL])
