"""How a batch calls the model: how many threads it gives the model beside the decoder and encoder, how many
photos go in one call, and the call itself (a failing group falls back to one photo at a time)."""


from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from PIL import Image

from clearbg_desktop.core.batch.plan import BatchItem
from clearbg_desktop.core.imaging.loading import LoadedImage

if TYPE_CHECKING:
    import numpy as np

    from clearbg_desktop.core.inference.engines import Engine

SMALL_PHOTO_PIXELS = 2_000_000  # below this, decoding and encoding cost little next to the model (≤ 4 %)


@contextmanager
def model_threads(segmenter: Engine) -> Iterator[Callable[[int], int | None]]:
    """Yields ``fit(pixels)``, which sets the model's CPU threads for the photos about to be cut out and returns
    how many cores that leaves the PNG encoder (None: all of them).

    Large photos leave one core to the decode and encode threads (at 12 MP PNG encoding takes as long as the
    model, bench/RESULTS.md section 8); small ones give the model every core, since there is almost nothing
    to overlap (a folder of 100 small photos took 1.24× rembg's time with one core idle). Set in the thread
    that runs the model (OpenMP keeps the count per calling thread) and restored afterwards. ONNX Runtime sets
    its threads once per session, so it is left as loaded. The encoder gets the cores the model leaves: with
    both on every core, three threads fought over two cores (bench/RESULTS.md section 9, batch floor).
    """
    if segmenter.engine != "torch" or segmenter.device.type != "cpu":
        yield lambda pixels: None
        return
    import torch

    cores = os.cpu_count() or 1
    before = torch.get_num_threads()
    spare = max(1, min(before, cores - 1))

    def fit(pixels: int) -> int | None:
        wanted = before if pixels < SMALL_PHOTO_PIXELS else spare
        if torch.get_num_threads() != wanted:
            torch.set_num_threads(wanted)
        return max(1, cores - wanted)

    try:
        yield fit
    finally:
        torch.set_num_threads(before)


GPU_PHOTOS_PER_CALL = 8  # a GPU is idle between small single-photo calls; the CPU gains nothing from groups


def photos_per_model_call(segmenter: Engine) -> int:
    """Photos in one model call: a group on any GPU (PyTorch's CUDA or MPS, ONNX Runtime's CUDA, DirectML or
    CoreML), one at a time on a CPU, where groups of 2-4 gained nothing measurable (issue #41; ``bench/
    gpu_providers.py`` measures both on the machine at hand)."""
    return GPU_PHOTOS_PER_CALL if segmenter.device.type != "cpu" else 1


Segmented = tuple[BatchItem, LoadedImage, "Image.Image | None", "np.ndarray | None", "Exception | None"]


def segment_group(segmenter: Engine, group: list[tuple[BatchItem, LoadedImage]], deep: bool = False,
                  boxes: tuple[tuple[float, float, float, float], ...] = ()) -> Iterator[Segmented]:
    """Alphas for a group of photos in one model call; when the call fails, photo by photo, so only the photo
    that fails is reported. ``deep``: a 16-bit output, which takes its alpha from the model's probability, is
    among them; then each alpha comes with the probability it was made from (every engine's ``predict_alphas``
    is ``upsample_alpha`` of its ``predict_probabilities``). ``boxes``: the subject is in them (``BatchPlan.boxes``);
    one model call per box, and no model-resolution probability (a 16-bit output takes the 8-bit alpha)."""
    from clearbg_desktop.core.inference.model_io import upsample_alpha

    def run(photos: list[Image.Image]) -> list[tuple[Image.Image, np.ndarray | None]]:
        if boxes:
            from clearbg_desktop.core.inference.box_prompt import mask_of_boxes

            return [(mask_of_boxes(segmenter, photo, boxes), None) for photo in photos]
        if not deep:
            alphas = [segmenter.predict_alpha(photos[0])] if len(photos) == 1 else segmenter.predict_alphas(photos)
            return [(alpha, None) for alpha in alphas]
        probabilities = segmenter.predict_probabilities(photos)
        return [(upsample_alpha(probability, photo.size), probability)
                for probability, photo in zip(probabilities, photos, strict=True)]

    if len(group) > 1:
        try:
            results = run([loaded.rgb for _, loaded in group])
        except Exception:  # noqa: BLE001 - fall through to one at a time, which names the photo
            pass
        else:
            for (item, loaded), (alpha, probability) in zip(group, results, strict=True):
                yield item, loaded, alpha, probability, None
            return
    for item, loaded in group:
        try:
            [(alpha, probability)] = run([loaded.rgb])
        except Exception as exc:  # noqa: BLE001 - one bad photo must not stop the batch
            yield item, loaded, None, None, exc
            continue
        yield item, loaded, alpha, probability, None
