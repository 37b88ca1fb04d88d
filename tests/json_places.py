"""Where a fuzz test may put a hostile value in a JSON document: the path of every node, root first."""

from __future__ import annotations

import json


def json_places(node: object, lists: bool = True) -> list[tuple[object, ...]]:
    """Every node's path (keys and, with ``lists``, indexes), depth first, the root's ``()`` first."""
    places: list[tuple[object, ...]] = []

    def walk(value: object, path: tuple[object, ...]) -> None:
        places.append(path)
        if isinstance(value, dict):
            for key, child in value.items():
                walk(child, (*path, key))
        elif lists and isinstance(value, list):
            for index, child in enumerate(value):
                walk(child, (*path, index))

    walk(node, ())
    return places


def replaced(document: object, path: tuple[object, ...], value: object) -> object:
    """A copy of the JSON ``document`` with ``value`` at ``path`` (one of :func:`json_places`, not the root)."""
    copy = json.loads(json.dumps(document))
    node = copy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return copy
