"""``get-data`` fills data.root only with the pinned folders, and params/dvc name no path outside the repo."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.get_data import DataSourceError, fetch_folder, read_sources, tree_hash

ROOT = Path(__file__).resolve().parents[2]


def _folder(root: Path) -> Path:
    (root / "set" / "images").mkdir(parents=True)
    (root / "set" / "images" / "a.jpg").write_bytes(b"photo a")
    (root / "set" / "SOURCE.md").write_text("where it came from")
    return root / "set"


def test_a_pinned_folder_is_copied_checked_and_kept(tmp_path: Path) -> None:
    source = _folder(tmp_path / "from")
    digest, count = tree_hash(source)
    pinned = {"tree_sha256": digest, "files": count, "source": "x", "licence": "CC0"}
    target = fetch_folder("set", pinned, tmp_path / "root", tmp_path / "from")
    assert tree_hash(target) == (digest, 2)
    (source / "images" / "a.jpg").write_bytes(b"another photo")  # the source changed: the copy is kept as is
    assert fetch_folder("set", pinned, tmp_path / "root", None) == target


def test_other_data_is_refused_and_leaves_nothing_half_copied(tmp_path: Path) -> None:
    source = _folder(tmp_path / "from")
    pinned = {"tree_sha256": tree_hash(source)[0], "files": 2, "source": "github.com/x/y", "licence": "MIT"}
    (source / "images" / "b.jpg").write_bytes(b"an extra photo")
    with pytest.raises(DataSourceError, match="not the same data"):
        fetch_folder("set", pinned, tmp_path / "root", tmp_path / "from")
    assert sorted(p.name for p in (tmp_path / "root").iterdir()) == []
    with pytest.raises(DataSourceError, match="get-data --from DIR"):
        fetch_folder("set", pinned, tmp_path / "other-root", None)


def test_every_folder_is_pinned_with_licence_and_the_pipeline_stays_in_the_repository() -> None:
    sources = read_sources()
    assert {"people-val", "photos-coco-mini", "photos-worksite", "photos-clothing", "photos-grocery"} <= set(sources)
    for entry in sources.values():
        assert len(entry["tree_sha256"]) == 64 and entry["files"] > 0 and entry["licence"] and entry["source"]
    assert "validation only" in sources["people-val"]["use"]
    for name in ("params.yaml", "dvc.yaml"):
        text = (ROOT / name).read_text()
        assert "../" not in text and "/shared/" not in text, name
