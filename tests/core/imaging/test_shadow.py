"""Shadows under product cut-outs (#40): drawn only where the subject is not opaque, in 8 and 16 bits, kept whole by
the crop and the square frame, and checked like every other setting wherever they are read from."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from clearbg_desktop.core.editing.project import Project, read_project, save_project
from clearbg_desktop.core.file_hash import sha256_file
from clearbg_desktop.core.imaging.compose import Background
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.imaging.loading import LoadedImage
from clearbg_desktop.core.imaging.output_file import (
    encode_output,
    render_deep_output,
    render_output,
    shadow_canvas,
)
from clearbg_desktop.core.imaging.output_size import output_size
from clearbg_desktop.core.imaging.presets import BUILT_IN_PRESETS, ExportPreset, presets_json, read_presets
from clearbg_desktop.core.imaging.shadow import ShadowSettings, render_shadow, shadow_box
from clearbg_desktop.core.settings import AppSettings
from tests.conftest import make_photo

SIZE = (240, 180)
CONTACT = ShadowSettings(kind="contact", opacity=60.0, blur=5.0)
DROP = ShadowSettings(kind="drop", opacity=50.0, blur=4.0, distance=6.0, angle=120.0)
WHITE = Background(kind="color", color=(255, 255, 255))


def product_alpha(size: tuple[int, int] = SIZE, box: tuple[int, int, int, int] = (80, 40, 160, 150)) -> Image.Image:
    """A bottle-like subject with a soft edge standing on a base."""
    alpha = Image.new("L", size, 0)
    ImageDraw.Draw(alpha).rounded_rectangle(box, radius=12, fill=255)
    pixels = np.asarray(alpha).copy()
    pixels[(pixels > 0) & (np.roll(pixels, 1, axis=1) == 0)] = 128  # a soft column on the left edge
    return Image.fromarray(pixels, "L")


def loaded(size: tuple[int, int] = SIZE, deep: bool = False) -> LoadedImage:
    rgb = make_photo(size)
    if not deep:
        return LoadedImage(rgb=rgb)
    eight = np.asarray(rgb, np.uint16)
    ramp = np.linspace(0, 255, size[0], dtype=np.uint16)[None, :, None]
    return LoadedImage(rgb=rgb, deep=eight * 256 + ramp)


def as_array(picture: Image.Image) -> np.ndarray:
    return np.asarray(picture).astype(np.int32)


@pytest.mark.parametrize("shadow", [CONTACT, DROP], ids=["contact", "drop"])
@pytest.mark.parametrize("background,fmt", [(Background(), "png"), (WHITE, "png"), (Background(), "jpg"),
                                            (Background(kind="color", color=(30, 90, 200)), "webp")],
                         ids=["transparent", "white", "jpeg", "blue"])
def test_the_subject_is_untouched_and_the_shadow_only_under_what_is_not_opaque(
        shadow: ShadowSettings, background: Background, fmt: str) -> None:
    photo, alpha = loaded(), product_alpha()
    plain = as_array(render_output(photo, alpha, ExportOptions(format=fmt, background=background)))
    shaded = as_array(render_output(photo, alpha, ExportOptions(format=fmt, background=background, shadow=shadow)))
    assert plain.shape == shaded.shape
    opaque = np.asarray(alpha) == 255
    np.testing.assert_array_equal(shaded[opaque], plain[opaque])  # exactly the subject's pixels
    changed = (shaded != plain).reshape(*opaque.shape, -1).any(axis=2)
    assert changed.any() and not (changed & opaque).any()
    layer = render_shadow(alpha, shadow)
    assert layer is not None
    assert not (changed & (layer.placed((0, 0, *SIZE)) == 0)).any()  # nothing changes where no shadow falls
    if shaded.shape[2] == 4:  # transparent: the shadow is black at its own opacity where nothing was
        below = shaded[~opaque & changed & (np.asarray(alpha) == 0)]
        assert (below[:, :3] == 0).all() and 0 < below[:, 3].max() <= round(255 * shadow.opacity / 100)
    else:  # on a colour: darker than the colour, never lighter
        assert (shaded[changed] <= plain[changed]).all()


def test_a_contact_shadow_lies_under_the_base_and_a_drop_shadow_away_from_the_light() -> None:
    alpha = product_alpha()
    contact = render_shadow(alpha, CONTACT)
    assert contact is not None
    placed = contact.placed((0, 0, *SIZE)).astype(np.float64)
    rows = placed.sum(axis=1)
    assert rows[:140].sum() < rows[150:].sum()  # under the base, not beside the body
    assert placed[151, 120] > 0.3 * 65535  # dark right under it
    assert placed[175, 120] < placed[153, 120]  # and fading away
    drop = render_shadow(alpha, DROP)  # light from the upper left (120°): falls to the lower right
    assert drop is not None
    weights = drop.placed((0, 0, *SIZE)).astype(np.float64)
    ys, xs = np.indices(weights.shape)
    centre = ((xs * weights).sum() / weights.sum(), (ys * weights).sum() / weights.sum())
    assert centre[0] > 122 and centre[1] > 99  # the subject's centre is (120, 95); 6.6 px at 120°: (+3.3, +5.7)


def test_a_stronger_opacity_is_darker_and_a_larger_blur_is_softer() -> None:
    alpha = product_alpha()
    light = render_shadow(alpha, ShadowSettings(kind="drop", opacity=20.0, blur=2.0))
    dark = render_shadow(alpha, ShadowSettings(kind="drop", opacity=80.0, blur=2.0))
    soft = render_shadow(alpha, ShadowSettings(kind="drop", opacity=80.0, blur=12.0))
    assert light is not None and dark is not None and soft is not None
    assert light.values.max() < dark.values.max()
    box_area = lambda layer: (layer.box[2] - layer.box[0]) * (layer.box[3] - layer.box[1])  # noqa: E731
    assert box_area(soft) > box_area(dark)


def test_a_sixteen_bit_photo_gets_a_sixteen_bit_shadow_and_keeps_its_own_values() -> None:
    photo, alpha = loaded(deep=True), product_alpha()
    for background in (Background(), WHITE):
        options = ExportOptions(format="png", background=background)
        plain = render_deep_output(photo, alpha, options)
        shaded = render_deep_output(photo, alpha, options.with_changes(shadow=CONTACT))
        assert shaded.dtype == np.uint16 and shaded.shape == plain.shape
        opaque = np.asarray(alpha) == 255
        np.testing.assert_array_equal(shaded[opaque], plain[opaque])  # the photo's 16-bit values, every bit
        changed = (shaded != plain).any(axis=2)
        assert changed.any() and not (changed & opaque).any()
        level = shaded[..., 3] if background.kind == "transparent" else shaded[..., 0]
        shadow_levels = np.unique(level[changed & (np.asarray(alpha) == 0)])
        assert len(shadow_levels) > 256  # a smooth 16-bit gradient, not 8-bit steps
        assert (shadow_levels % 257 != 0).any()


def test_cropping_keeps_the_whole_shadow_even_past_the_photos_edge() -> None:
    # The subject stands 4 px above the photo's bottom edge: its contact shadow reaches past it.
    alpha = product_alpha(box=(80, 40, 160, 176))
    photo = loaded()
    for shadow in (CONTACT, DROP):
        for background, fmt in ((Background(), "png"), (WHITE, "jpg")):
            options = ExportOptions(format=fmt, background=background, crop_to_subject=True, crop_padding=6,
                                    shadow=shadow)
            picture = render_output(photo, alpha, options)
            assert picture.size == output_size(photo, alpha, options)  # the estimate knows the room it takes
            box = shadow_box(alpha, shadow)
            assert box is not None and box[3] > SIZE[1]  # the shadow reaches past the photo …
            assert picture.height >= box[3] - box[1]  # … and the output holds it
            pixels = as_array(picture)
            edge = np.concatenate([pixels[:3].reshape(-1, pixels.shape[2]), pixels[-3:].reshape(-1, pixels.shape[2]),
                                   pixels[:, :3].reshape(-1, pixels.shape[2]), pixels[:, -3:].reshape(-1, pixels.shape[2])])
            if fmt == "png":
                assert (edge[:, 3] == 0).all()  # the shadow has ended before the edge: not cut off
            else:
                assert (edge >= 254).all()


def test_the_sixteen_bit_crop_keeps_the_shadow_too() -> None:
    alpha = product_alpha(box=(80, 40, 160, 176))
    photo = loaded(deep=True)
    options = ExportOptions(format="tiff", crop_to_subject=True, crop_padding=4, shadow=DROP)
    picture = render_deep_output(photo, alpha, options)
    assert (picture.shape[1], picture.shape[0]) == output_size(photo, alpha, options)
    assert (picture[-2:, :, 3] == 0).all() and (picture[:, -2:, 3] == 0).all()


def test_the_square_frame_centres_the_subject_with_its_shadow() -> None:
    alpha = product_alpha(box=(80, 40, 160, 176))
    photo = loaded()
    options = ExportOptions(format="jpg", background=WHITE, subject_fill=0.85, shadow=CONTACT)
    picture = render_output(photo, alpha, options)
    assert picture.size == output_size(photo, alpha, options)
    assert picture.width == picture.height
    pixels = as_array(picture)
    darker = (pixels < 250).any(axis=2)
    rows = np.flatnonzero(darker.any(axis=1))
    assert rows[0] > 0 and rows[-1] < picture.height - 1  # subject and shadow inside the frame, with room around
    plain = render_output(photo, alpha, options.with_changes(shadow=None))
    assert picture.height >= plain.height  # the shadow takes its share of the frame


def test_an_image_background_ends_at_the_photos_edge_and_so_does_the_shadow(tmp_path: Path) -> None:
    picture = tmp_path / "wall.png"
    Image.new("RGB", (40, 30), (10, 200, 10)).save(picture)
    alpha = product_alpha(box=(80, 40, 160, 176))
    options = ExportOptions(background=Background(kind="image", image_path=str(picture)), crop_to_subject=True,
                            crop_padding=6, shadow=CONTACT)
    canvas, box = shadow_canvas(alpha, options)
    assert canvas == (0, 0, *SIZE) and box is not None and box[3] == SIZE[1]
    assert render_output(loaded(), alpha, options).size == output_size(loaded(), alpha, options)


def test_without_a_shadow_nothing_changes() -> None:
    photo, alpha = loaded(), product_alpha()
    options = ExportOptions(format="png", crop_to_subject=True)
    assert "shadow" not in options.to_dict()  # files written before shadows and after read alike
    assert encode_output(photo, alpha, options) == encode_output(photo, alpha, options.with_changes(shadow=None))
    assert shadow_canvas(alpha, options) == ((0, 0, *SIZE), None)


def test_an_empty_mask_casts_no_shadow() -> None:
    empty = Image.new("L", SIZE, 0)
    assert render_shadow(empty, CONTACT) is None and shadow_box(empty, DROP) is None
    picture = render_output(loaded(), empty, ExportOptions(shadow=DROP, crop_to_subject=True))
    assert picture.size == SIZE and np.asarray(picture)[..., 3].max() == 0


@pytest.mark.parametrize("data,message", [
    ({"kind": "spot"}, "unknown shadow"),
    ({"opacity": 0}, "opacity must be between 1 and 100"),
    ({"opacity": 101.0}, "opacity"),
    ({"blur": -1}, "blur must be between 0 and 25"),
    ({"distance": 10**400}, "a 401-digit number"),
    ({"angle": float("nan")}, "angle must be a number"),
    ({"angle": 361}, "angle must be between 0 and 360"),
    ({"opacity": True}, "opacity must be a number"),
    ({"blur": "5"}, "blur must be a number"),
    ([], "must be a mapping"),
    ("contact", "must be a mapping"),
])
def test_hostile_shadow_settings_are_one_clear_line(data: object, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        ShadowSettings.from_dict(data) if not isinstance(data, dict) else ShadowSettings.from_dict(
            {**CONTACT.to_dict(), **data})
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 200
    with pytest.raises(ValueError):
        ExportOptions.from_dict({**ExportOptions().to_dict(), "shadow": data})


def test_a_shadow_is_refused_with_a_mask_or_a_layered_file() -> None:
    with pytest.raises(ValueError, match="mask only"):
        ExportOptions(mask_only=True, shadow=CONTACT)
    for fmt in ("psd", "tiff-mask"):
        with pytest.raises(ValueError, match="layered file"):
            ExportOptions(format=fmt, shadow=DROP)
    with pytest.raises(ValueError, match="shadow settings"):
        ExportOptions(shadow={"kind": "drop"})  # type: ignore[arg-type]


def test_a_shadow_survives_settings_presets_and_projects(tmp_path: Path, photo_path: Path) -> None:
    options = ExportOptions(format="jpg", background=WHITE, subject_fill=0.85, shadow=DROP)
    assert ExportOptions.from_dict(json.loads(json.dumps(options.to_dict()))) == options
    shared = tmp_path / "team.json"
    shared.write_text(presets_json([ExportPreset("Shadowed", options)]))
    presets, skipped = read_presets(shared)
    assert not skipped and presets[0].options.shadow == DROP
    settings = AppSettings(export=options, export_presets={"Shadowed": options.to_dict()})
    assert settings.save() is not None
    again = AppSettings.load()
    assert again.export == options and ExportOptions.from_dict(again.export_presets["Shadowed"]) == options
    alpha = np.zeros((120, 160), np.uint8)
    alpha[30:100, 40:120] = 255
    project = Project(photo_path=photo_path, photo_sha256=sha256_file(photo_path), alpha=alpha, predicted=None,
                      model="small", weights_sha256=None, export_options=options)
    assert read_project(save_project(project, tmp_path / "shadow.clearbg")).export_options.shadow == DROP


def test_a_preset_with_a_bad_shadow_is_named_and_left_out(tmp_path: Path) -> None:
    good = ExportOptions(shadow=CONTACT).to_dict()
    bad = {**good, "shadow": {**CONTACT.to_dict(), "opacity": 1e308}}
    shared = tmp_path / "team.json"
    shared.write_text(json.dumps({"clearbg_presets": 1, "presets": [{"name": "Good", "options": good},
                                                                  {"name": "Bad", "options": bad}]}))
    presets, skipped = read_presets(shared)
    assert [p.name for p in presets] == ["Good"]
    assert len(skipped) == 1 and "Bad" in skipped[0] and "opacity" in skipped[0]


def test_the_marketplace_preset_comes_with_a_subtle_contact_shadow_as_a_second_choice() -> None:
    by_name = {preset.name: preset for preset in BUILT_IN_PRESETS}
    plain = by_name["Marketplace main image (white square, subject 85 %)"]
    assert plain.options.shadow is None  # scripts that name it get what they always got
    shadowed = [p for p in BUILT_IN_PRESETS if p.options.shadow is not None]
    assert len(shadowed) == 1
    options = shadowed[0].options
    assert options.shadow is not None and options.shadow.kind == "contact" and options.shadow.opacity <= 50
    assert options.with_changes(shadow=None, name_template=plain.options.name_template) == plain.options


def test_a_contact_shadow_follows_a_base_seen_in_perspective_and_not_a_seat_between_legs() -> None:
    slanted = Image.new("L", SIZE, 0)  # a box seen from above: its base rises from right to left
    ImageDraw.Draw(slanted).polygon([(40, 30), (200, 30), (200, 160), (40, 120)], fill=255)
    layer = render_shadow(slanted, CONTACT)
    assert layer is not None
    placed = layer.placed((0, 0, *SIZE))
    assert placed[125, 50] > 0.2 * 65535 and placed[160, 190] > 0.2 * 65535  # under both ends of the base
    table = Image.new("L", SIZE, 0)  # a table: two legs on the floor, the top between them in the air
    draw = ImageDraw.Draw(table)
    draw.rectangle((40, 40, 200, 70), fill=255)
    draw.rectangle((40, 40, 60, 160), fill=255)
    draw.rectangle((180, 40, 200, 160), fill=255)
    layer = render_shadow(table, CONTACT)
    assert layer is not None
    placed = layer.placed((0, 0, *SIZE))
    assert placed[162, 50] > 0.2 * 65535 and placed[162, 190] > 0.2 * 65535  # under the legs
    assert placed[72:100, 100:140].max() == 0  # nothing under the top, which stands on nothing


def test_the_size_estimate_samples_the_photo_when_the_shadow_needs_room_past_its_edge() -> None:
    from clearbg_desktop.core.imaging.output_size import enlargement, estimate_output_bytes

    alpha = product_alpha(box=(2, 40, 160, 176))  # at the left and bottom edges: the output grows past both
    for photo, fmt in ((loaded(deep=True), "png"), (loaded(), "jpg"), (loaded(), "png")):
        options = ExportOptions(format=fmt, background=WHITE if fmt == "jpg" else Background(), crop_to_subject=True,
                                shadow=CONTACT)
        written = len(encode_output(photo, alpha, options))
        estimate = estimate_output_bytes(photo, alpha, options)
        assert written / 3 < estimate < written * 3
        assert enlargement(photo, alpha, options) == 1.0


@pytest.mark.slow  # a 24 MP mask: ~2-4 s
def test_a_shadow_far_larger_than_the_photo_is_drawn_only_where_shown_or_refused_before_allocating() -> None:
    import resource

    from clearbg_desktop.core.imaging.compose import MAX_OUTPUT_PIXELS

    size = (6000, 4000)
    alpha = Image.new("L", size, 0)
    ImageDraw.Draw(alpha).rectangle((200, 100, 5800, 3900), fill=255)
    longest = ShadowSettings(kind="drop", opacity=100.0, blur=25.0, distance=50.0, angle=45.0)
    box = shadow_box(alpha, longest)
    assert box is not None and (box[2] - box[0]) * (box[3] - box[1]) > MAX_OUTPUT_PIXELS
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    layer = render_shadow(alpha, longest)
    assert layer is not None and layer.small.size < 1_000_000  # kept small; the photo's part made at full size
    assert layer.on((0, 0, *size)) is not None
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024 < 600 * 2**20
    photo = LoadedImage(rgb=Image.new("RGB", size, (90, 90, 90)))
    cropped = ExportOptions(crop_to_subject=True, shadow=longest)
    with pytest.raises(ValueError, match="with its shadow the output would be .* MP limit"):
        output_size(photo, alpha, cropped)
    with pytest.raises(ValueError, match="MP limit"):
        render_output(photo, alpha, cropped)
