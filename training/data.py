"""Image/mask pairs: discovery in DUTS or plain layouts, manifests, and the training dataset."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from clearbg_desktop.core.imaging.formats import is_supported_image
from clearbg_desktop.core.imaging.loading import load_image

MASK_SUFFIXES = (".png", ".bmp", ".tif", ".tiff", ".jpg")


class PairingError(ValueError):
    """Images without masks or masks without images; the message lists them."""


@dataclass(frozen=True)
class Pair:
    image: Path
    mask: Path


def _layout(root: Path) -> tuple[Path, Path]:
    """(images folder, masks folder) for ``root`` in DUTS (``*-Image``/``*-Mask``) or plain layout."""
    if (root / "images").is_dir() and (root / "masks").is_dir():
        return root / "images", root / "masks"
    image_dirs = sorted(p for p in root.iterdir() if p.is_dir() and p.name.endswith("-Image"))
    for image_dir in image_dirs:
        mask_dir = root / (image_dir.name[: -len("-Image")] + "-Mask")
        if mask_dir.is_dir():
            return image_dir, mask_dir
    raise PairingError(
        f"{root}: expected images/ + masks/ or a DUTS layout (e.g. DUTS-TR-Image/ + DUTS-TR-Mask/)"
    )


def find_pairs(root: Path | str) -> list[Pair]:
    """Pairs matched by file stem; any unpaired file is an error that names it."""
    image_dir, mask_dir = _layout(Path(root))
    images = {p.stem: p for p in sorted(image_dir.iterdir()) if p.is_file() and is_supported_image(p)}
    masks = {p.stem: p for p in sorted(mask_dir.iterdir()) if p.is_file() and p.suffix.lower() in MASK_SUFFIXES}
    lonely_images = sorted(set(images) - set(masks))
    lonely_masks = sorted(set(masks) - set(images))
    if lonely_images or lonely_masks:
        parts = []
        if lonely_images:
            parts.append(f"{len(lonely_images)} image(s) without a mask: {', '.join(lonely_images[:5])}")
        if lonely_masks:
            parts.append(f"{len(lonely_masks)} mask(s) without an image: {', '.join(lonely_masks[:5])}")
        raise PairingError(f"{root}: " + "; ".join(parts))
    return [Pair(images[stem], masks[stem]) for stem in sorted(images)]


def load_mask(path: Path | str, size: tuple[int, int] | None = None) -> Image.Image:
    """A mask as 8-bit L (the alpha channel for RGBA masks), optionally checked against a size."""
    with Image.open(path) as opened:
        opened.load()
        if opened.mode in ("RGBA", "LA"):
            mask = opened.getchannel("A")
        elif opened.mode in ("I;16", "I"):
            mask = Image.fromarray((np.asarray(opened, np.float32) / 257.0).astype(np.uint8), "L")
        else:
            mask = opened.convert("L")
    if size is not None and mask.size != size:
        raise PairingError(f"{Path(path).name}: mask is {mask.size[0]}×{mask.size[1]}, photo is {size[0]}×{size[1]}")
    return mask


class PairDataset(Dataset):
    """Pairs decoded once, rescaled to ``image_size`` and kept in memory as uint8.

    Keeping the RescaleT output in RAM (2,000 photos at 320 px is ~0.8 GB) makes an epoch on a
    laptop CPU spend its time in the model, not in JPEG decoding. ``transform`` receives and
    returns ``(image uint8 HxWx3, mask uint8 HxW)`` numpy arrays.
    """

    def __init__(
        self,
        pairs: Sequence[Pair],
        image_size: int,
        transform: Callable[..., tuple[np.ndarray, np.ndarray]] | None = None,
        seed: int = 0,
    ) -> None:
        from training.transforms import rescale_pair

        self.pairs = list(pairs)
        self.transform = transform
        self.seed = seed
        # Shared memory, not a plain int: persistent DataLoader workers hold their own copy of the dataset,
        # and with a plain attribute they would crop and flip every epoch exactly like the first.
        self._epoch = multiprocessing.RawValue("q", 0)
        self.images: list[np.ndarray] = []
        self.masks: list[np.ndarray] = []
        for pair in self.pairs:
            loaded = load_image(pair.image)
            mask = load_mask(pair.mask, loaded.rgb.size)
            image, mask_array = rescale_pair(loaded.rgb, mask, image_size)
            self.images.append(image)
            self.masks.append(mask_array)

    def __len__(self) -> int:
        return len(self.pairs)

    @property
    def epoch(self) -> int:
        return int(self._epoch.value)

    def set_epoch(self, epoch: int) -> None:
        self._epoch.value = epoch

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        from clearbg_desktop.core.inference.segmenter import normalise

        image, mask = self.images[index], self.masks[index]
        if self.transform is not None:
            rng = np.random.default_rng((self.seed, self.epoch, index))
            image, mask = self.transform(image, mask, rng, self)
        # Copies: transforms may return read-only views of PIL buffers, which torch refuses to share.
        tensor = normalise(np.array(image))[0]
        target = torch.from_numpy(np.array(mask)).float().div_(255.0).unsqueeze(0)
        return tensor, target
