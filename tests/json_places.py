"""Where a fuzz test may put a hostile value in a JSON document: the path of every node, root first."""

from __future__ import annotations


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
