"""The top-down pipeline: crops, flips, half body, jitter and targets agree with the shared code."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from flowpose.codecs import build_codec
from flowpose.geometry import get_warp_matrix, transform_points
from flowpose.meta import load_layout
from flowpose.trainer.data.records import PoseInstance
from flowpose.trainer.data.synthetic import SyntheticPoseSource, SyntheticSpec
from flowpose.trainer.pipeline.augment import flip_crop, half_body_box
from flowpose.trainer.pipeline.settings import TopdownSettings
from flowpose.trainer.pipeline.topdown import TopdownDataset, TopdownTransform

COCO = load_layout("coco17")
NO_AUG = {"flip_prob": 0.0, "half_body_prob": 0.0, "shift": 0.0, "scale": [1.0, 1.0], "rotate_prob": 0.0,
          "photometric": None}  # fmt: skip


def _person(seed: int = 0) -> tuple[np.ndarray, PoseInstance]:
    source = SyntheticPoseSource(SyntheticSpec(kind="person", num_samples=4, seed=seed, fixed=True))
    return source.get(0, np.random.default_rng(0))


def _codec(kind: str, size: tuple[int, int]):
    if kind == "heatmap":
        return build_codec({"type": "heatmap", "input_size": list(size), "heatmap_size": [size[0] // 4, size[1] // 4],
                            "sigma": 2.0, "unbiased": True})  # fmt: skip
    return build_codec({"type": "simcc", "input_size": list(size), "sigma": [3.0, 3.0], "refine": "gaussian"})


@pytest.mark.parametrize("kind", ["heatmap", "simcc"])
def test_targets_decode_back_to_the_image_keypoints(kind: str) -> None:
    image, inst = _person()
    settings = TopdownSettings.from_dict({"input_size": [96, 128], **NO_AUG})
    codec = _codec(kind, settings.input_size)
    sample = TopdownTransform(settings, codec, COCO, train=True)(image, inst, np.random.default_rng(0))
    assert sample["image"].shape == (3, 128, 96) and sample["image"].dtype == np.uint8
    outputs = (sample["heatmaps"],) if kind == "heatmap" else (sample["target_x"], sample["target_y"])
    decoded = codec.decode(*outputs).keypoints[0]
    inverse = get_warp_matrix(sample["center"], sample["scale"], float(sample["rot"]), settings.input_size, inv=True)
    back = transform_points(decoded, inverse)
    used = sample["keypoint_weights"] > 0
    assert used.sum() >= 4
    # The box is ~1.25x the figure, so one crop pixel is about one image pixel here.
    assert np.abs(back[used] - inst.keypoints[used]).max() < 0.5


def test_rgb_crop_is_the_shared_affine_crop_with_channels_swapped() -> None:
    image, inst = _person(1)
    settings = TopdownSettings.from_dict({"input_size": [64, 96], **NO_AUG})
    rgb = TopdownTransform(settings, _codec("heatmap", (64, 96)), COCO, train=False)(image, inst, None)
    bgr_settings = TopdownSettings.from_dict({"input_size": [64, 96], "color_order": "bgr"})
    bgr = TopdownTransform(bgr_settings, _codec("heatmap", (64, 96)), COCO, train=False)(image, inst, None)
    np.testing.assert_array_equal(rgb["image"], bgr["image"][::-1])


def test_flip_mirrors_pixels_and_swaps_left_right() -> None:
    crop = np.arange(2 * 5 * 3, dtype=np.uint8).reshape(2, 5, 3)
    kpts = np.tile(np.array([[1.0, 0.5]]), (17, 1))
    kpts[COCO.index("left_wrist")] = [0.0, 1.0]
    vis = np.full(17, 2.0)
    vis[COCO.index("right_wrist")] = 0.0
    out, k2, v2 = flip_crop(crop, kpts, vis, COCO)
    np.testing.assert_array_equal(out[:, 0], crop[:, 4])
    right = COCO.index("right_wrist")
    # The left wrist at x=0 is the right wrist at x = w - 1 = 4 after the mirror; visibility travels along.
    np.testing.assert_allclose(k2[right], [4.0, 1.0])
    assert v2[right] == 2.0 and v2[COCO.index("left_wrist")] == 0.0


def test_training_flip_keeps_every_label_on_its_mirrored_pixel() -> None:
    image, inst = _person(2)
    plain = TopdownSettings.from_dict({"input_size": [96, 128], **NO_AUG})
    flipped = TopdownSettings.from_dict({"input_size": [96, 128], **NO_AUG, "flip_prob": 1.0})
    codec = _codec("heatmap", (96, 128))
    a = TopdownTransform(plain, codec, COCO, train=True)(image, inst, np.random.default_rng(0))
    b = TopdownTransform(flipped, codec, COCO, train=True)(image, inst, np.random.default_rng(0))
    assert b["flipped"] and not a["flipped"]
    np.testing.assert_array_equal(b["image"], a["image"][:, :, ::-1])
    # Heatmap channel i of the flipped sample is channel flip_index[i] of the plain one, mirrored
    # about the crop centre (stride-4 heatmaps: exact up to the Gaussian's sub-pixel shift).
    ka = _codec("heatmap", (96, 128)).decode(a["heatmaps"]).keypoints[0]
    kb = _codec("heatmap", (96, 128)).decode(b["heatmaps"]).keypoints[0]
    used = b["keypoint_weights"] > 0
    expect = ka[COCO.flip_index]
    expect[:, 0] = 95 - expect[:, 0]
    assert np.abs(kb[used] - expect[used]).max() < 0.3


def test_half_body_box_encloses_one_half() -> None:
    _, inst = _person(3)
    settings = TopdownSettings.from_dict({"input_size": [96, 128], "half_body_min_keypoints": 4})
    labelled = inst.visibility > 0
    seen = set()
    for seed in range(20):
        out = half_body_box(inst.keypoints, labelled, COCO, settings, np.random.default_rng(seed))
        assert out is not None
        center, size = out
        for ids, name in ((COCO.upper_body_ids, "upper"), (COCO.lower_body_ids, "lower")):
            pts = inst.keypoints[[i for i in ids if labelled[i]]]
            lo, hi = pts.min(0), pts.max(0)
            if np.allclose(center, (lo + hi) / 2) and np.allclose(size, (hi - lo) * 1.5):
                seen.add(name)
    assert seen == {"upper", "lower"}
    assert half_body_box(inst.keypoints, np.zeros(17, bool), COCO, settings, np.random.default_rng(0)) is None


def test_augmented_samples_stay_consistent_and_repeat_with_the_seed() -> None:
    source = SyntheticPoseSource(SyntheticSpec(kind="animal", num_samples=6))
    settings = TopdownSettings.from_dict({"input_size": [128, 128], "rotate_prob": 1.0, "rotate": 45})
    codec = _codec("heatmap", (128, 128))
    dataset = TopdownDataset(source, TopdownTransform(settings, codec, source.layout, train=True))
    np.random.seed(11)
    first = [dataset[i] for i in range(6)]
    np.random.seed(11)
    again = [dataset[i] for i in range(6)]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a["image"], b["image"])
        assert a["rot"] != 0.0
        # The crop keypoints of the targets are the image keypoints through the sample's own affine.
        matrix = get_warp_matrix(a["center"], a["scale"], float(a["rot"]), (128, 128))
        crop_kpts = transform_points(a["gt_keypoints"], matrix)
        if a["flipped"]:
            crop_kpts = crop_kpts[source.layout.flip_index]
            crop_kpts[:, 0] = 127 - crop_kpts[:, 0]
        decoded = codec.decode(a["heatmaps"]).keypoints[0]
        # Away from the border (3 sigma = 24 px), where the target holds the whole Gaussian.
        inner = ((crop_kpts > 24) & (crop_kpts < 103)).all(axis=1)
        used = (a["keypoint_weights"] > 0) & inner
        assert used.sum() >= 3
        assert np.abs(decoded[used] - crop_kpts[used]).max() < 0.3
    # A new draw from the global RNG gives a different augmentation of sample 0.
    assert not np.array_equal(first[0]["image"], dataset[0]["image"])


def test_settings_name_bad_values() -> None:
    with pytest.raises(ValueError, match="input_size is required"):
        TopdownSettings.from_dict({})
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['flip'\]"):
        TopdownSettings.from_dict({"input_size": [64, 64], "flip": 0.5})
    with pytest.raises(ValueError, match="flip_prob must be a probability"):
        TopdownSettings.from_dict({"input_size": [64, 64], "flip_prob": 2})
    with pytest.raises(ValueError, match="photometric"):
        TopdownSettings.from_dict({"input_size": [64, 64], "photometric": {"hue_shift": 3}})
