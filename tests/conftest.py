"""Shared fixtures: every test gets private settings/log/model folders and real (small) photos."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if os.environ.get("PYTEST_XDIST_WORKER"):  # one worker per core (pytest -n auto): one thread each, not cores²
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(variable, "1")

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from clearbg_desktop.core.inference.model import build_model
from clearbg_desktop.core.inference.weights_install import write_weights_folder

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def private_app_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings, logs and user models never touch the developer's real folders."""
    root = tmp_path_factory.mktemp("appdirs")
    monkeypatch.setenv("CLEARBG_CONFIG_DIR", str(root / "config"))
    monkeypatch.setenv("CLEARBG_LOG_DIR", str(root / "logs"))
    monkeypatch.setenv("CLEARBG_USER_MODELS", str(root / "models"))
    monkeypatch.setenv("CLEARBG_DATA_DIR", str(root / "data"))
    monkeypatch.setenv("CLEARBG_ENGINE", "torch")  # one engine everywhere; tests/core/inference/test_engines.py tests "auto"
    # One precision everywhere, whatever the CPU (native bf16 or not); tests that mean bf16 force it.
    monkeypatch.setenv("CLEARBG_PRECISION", "fp32")
    return root


@pytest.fixture(scope="session")
def random_weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A resources folder with randomly initialised U²-Net-small weights and a real manifest."""
    root = tmp_path_factory.mktemp("resources")
    torch.manual_seed(0)
    write_weights_folder(build_model("small"), root / "weights", "small", card={"note": "random, for tests"},
                         input_size=64)
    return root


@pytest.fixture
def random_weights(random_weights_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the app at the random weights (instead of the bundled ones)."""
    monkeypatch.setenv("CLEARBG_RESOURCES", str(random_weights_dir))
    return random_weights_dir / "weights"


def make_photo(size: tuple[int, int] = (160, 120), seed: int = 0) -> Image.Image:
    """A textured background with a bright disc: a small, real, decodable photo."""
    rng = np.random.default_rng(seed)
    width, height = size
    background = rng.integers(40, 90, (height, width, 3), dtype=np.uint8)
    image = Image.fromarray(background, "RGB")
    draw = ImageDraw.Draw(image)
    draw.ellipse((width * 0.25, height * 0.2, width * 0.75, height * 0.85), fill=(230, 180, 60))
    return image


@pytest.fixture
def photo_path(tmp_path: Path) -> Path:
    path = tmp_path / "photo.jpg"
    make_photo().save(path, quality=92)
    return path
