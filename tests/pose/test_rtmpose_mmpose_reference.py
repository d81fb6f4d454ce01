"""The RTMPose adapter against MMPose's published formulas, written out here independently.

References (open-mmlab/mmpose 1.x):

* box to crop: ``mmpose/structures/bbox/transforms.py`` ``bbox_xyxy2cs`` (centre, size x
  padding 1.25), ``TopdownAffine._fix_aspect_ratio`` (widen the short side to the input's
  aspect ratio) and ``get_warp_matrix`` (three-point affine: centre, centre - half width, and
  the point 90 degrees from it), then ``cv2.warpAffine(..., flags=INTER_LINEAR)`` with a 0 border;
* normalisation: the RTMPose data preprocessor, mean [123.675, 116.28, 103.53], std
  [58.395, 57.12, 57.375] on RGB (``bgr_to_rgb=True``);
* decode: ``mmpose/codecs/simcc_label.py`` ``SimCCLabel.decode`` = ``get_simcc_maximum``
  (``mmpose/codecs/utils/post_processing.py``: argmax of each 1-D vector, score = the smaller
  of the two maxima, location -1 where that score <= 0) divided by ``simcc_split_ratio``;
* back to the image: ``TopdownPoseEstimator.add_pred_to_datasample``
  (``mmpose/models/pose_estimators/topdown.py``): ``kp / input_size * input_scale +
  input_center - 0.5 * input_scale``.

The model is the marker model of ``tests/support/pose_models.py`` with RTMPose's exact I/O
(``input`` [N,3,256,192] -> ``simcc_x`` [N,17,384], ``simcc_y`` [N,17,512]); its outputs depend
on the image, so the whole chain is exercised. One known difference is kept in view: where a
keypoint's score is <= 0 MMPose reports location -1 (a crop corner), flowpose keeps the argmax;
positions are compared where the score is positive, scores everywhere.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("onnx")

from flowpose.models.presets import card_from_spec
from flowpose.pose import TopdownModel, open_pose_model
from flowpose.zoo import get_entry
from pose_models import build_marker_model, marker_scene

MEAN_RGB = np.array([123.675, 116.28, 103.53])
STD_RGB = np.array([58.395, 57.12, 57.375])
PADDING = 1.25

BOXES = [[40, 60, 160, 300], [300, 100, 420, 220], [520, 300, 680, 500]]
SPOTS = [
    [(0.3, 0.2), (0.7, 0.5), (0.4, 0.85)],
    [(0.2, 0.3), (0.8, 0.2), (0.5, 0.9)],
    [(0.2, 0.2), (0.5, 0.5), (0.3, 0.8)],
]


# ---------------------------------------------------------------- MMPose's formulas, by hand


def mm_bbox_xyxy2cs(box: np.ndarray, padding: float) -> tuple[np.ndarray, np.ndarray]:
    x1, y1, x2, y2 = box
    return np.array([(x1 + x2) * 0.5, (y1 + y2) * 0.5]), np.array([x2 - x1, y2 - y1]) * padding


def mm_fix_aspect_ratio(scale: np.ndarray, aspect_ratio: float) -> np.ndarray:
    w, h = scale
    return np.array([w, w / aspect_ratio]) if w > h * aspect_ratio else np.array([h * aspect_ratio, h])


def mm_get_warp_matrix(center: np.ndarray, scale: np.ndarray, output_size: tuple[int, int]) -> np.ndarray:
    """rot = 0, shift = 0, fix_aspect_ratio = True."""

    def third(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        d = a - b
        return b + np.array([-d[1], d[0]])

    dst_w, dst_h = output_size
    src0, src1 = center, center + np.array([scale[0] * -0.5, 0.0])
    dst0 = np.array([dst_w * 0.5, dst_h * 0.5])
    dst1 = dst0 + np.array([dst_w * -0.5, 0.0])
    src = np.stack([src0, src1, third(src0, src1)]).astype(np.float32)
    dst = np.stack([dst0, dst1, third(dst0, dst1)]).astype(np.float32)
    return cv2.getAffineTransform(src, dst)


def mm_preprocess(image: np.ndarray, boxes: np.ndarray, input_size: tuple[int, int]):
    """The batch MMPose feeds RTMPose, with each crop's (centre, scale)."""
    w, h = input_size
    crops, metas = [], []
    for box in boxes:
        center, scale = mm_bbox_xyxy2cs(np.asarray(box, np.float64), PADDING)
        scale = mm_fix_aspect_ratio(scale, w / h)
        crop = cv2.warpAffine(image, mm_get_warp_matrix(center, scale, (w, h)), (w, h), flags=cv2.INTER_LINEAR)
        rgb = crop[..., ::-1].astype(np.float64)
        crops.append(((rgb - MEAN_RGB) / STD_RGB).transpose(2, 0, 1))
        metas.append((center, scale))
    return np.stack(crops).astype(np.float32), metas


def mm_decode(simcc_x: np.ndarray, simcc_y: np.ndarray, split_ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """SimCCLabel.decode without refinement (RTMPose's deploy config)."""
    n, k, _ = simcc_x.shape
    sx, sy = simcc_x.reshape(n * k, -1), simcc_y.reshape(n * k, -1)
    locs = np.stack([sx.argmax(1), sy.argmax(1)], axis=-1).astype(np.float32)
    max_x, max_y = sx.max(1), sy.max(1)
    vals = np.where(max_x > max_y, max_y, max_x)
    locs[vals <= 0.0] = -1
    return locs.reshape(n, k, 2) / split_ratio, vals.reshape(n, k)


def mm_to_image(keypoints: np.ndarray, metas, input_size: tuple[int, int]) -> np.ndarray:
    size = np.asarray(input_size, np.float64)
    return np.stack(
        [kp / size * scale + center - 0.5 * scale for kp, (center, scale) in zip(keypoints, metas, strict=True)]
    )


# ---------------------------------------------------------------- the checks


class RecordingSession:
    """Wraps the model's session to keep what it was fed and what it returned."""

    def __init__(self, session) -> None:
        self._session = session
        self.fed: list[np.ndarray] = []
        self.outputs: list[list[np.ndarray]] = []

    def run(self, names, feed):
        self.fed.append(next(iter(feed.values())).copy())
        out = self._session.run(names, feed)
        self.outputs.append([o.copy() for o in out])
        return out


CARDS = {
    # RTMPose body7 (card-less mmdeploy export + the rtmpose_simcc preset): 192x256, COCO-17.
    "body7-preset": (None, "coco17", (192, 256)),
    # RTMPose-m AP-10K as the zoo describes it: 256x256, AP-10K layout, same normalisation.
    "ap10k-zoo-card": ("rtmpose-m-ap10k", "ap10k", (256, 256)),
}


@pytest.fixture(scope="module", params=sorted(CARDS))
def rtmpose(request, tmp_path_factory) -> tuple[TopdownModel, tuple[int, int], str]:
    entry, layout, size = CARDS[request.param]
    path = Path(tmp_path_factory.mktemp("rtmpose")) / "end2end.onnx"
    card = card_from_spec(get_entry(entry).card) if entry else None
    build_marker_model(path, "simcc", layout=layout, input_size=size, card=card)
    spec = open_pose_model(path, None if entry else "rtmpose_simcc")
    assert spec.card.mean == pytest.approx(MEAN_RGB) and spec.card.std == pytest.approx(STD_RGB)
    assert spec.card.color_order == "rgb" and spec.card.input_size == size
    model = TopdownModel(spec, intra_op_threads=1)
    model.session = RecordingSession(model.session)
    return model, size, layout


@pytest.fixture(scope="module")
def scene_of():
    def make(layout: str):
        image, boxes, expected = marker_scene((720, 540), BOXES, SPOTS, layout=layout)
        # Texture, so that a half-pixel slip in the crop shows up in the pixels.
        rng = np.random.default_rng(3)
        image = np.clip(image.astype(np.int16) + rng.integers(0, 40, image.shape), 0, 255).astype(np.uint8)
        return image, boxes, expected

    return make


def test_crops_and_normalisation_match_mmpose_topdown_affine(rtmpose, scene_of) -> None:
    model, size, layout = rtmpose
    image, boxes, _ = scene_of(layout)
    model(image, boxes)
    ours = model.session.fed[-1]
    reference, _ = mm_preprocess(image, boxes, size)
    assert ours.shape == reference.shape == (3, 3, size[1], size[0])
    # Same matrix up to float rounding: at most one grey level apart after bilinear sampling.
    diff = np.abs(ours - reference) * STD_RGB.min()
    assert diff.max() <= 1.0 + 1e-3, diff.max()
    assert (diff > 0.5).mean() < 1e-3


def test_a_wrong_padding_or_colour_order_would_be_caught(rtmpose, scene_of) -> None:
    """The preprocessing check can fail: padding 1.0 or BGR input give visibly different crops."""
    model, size, layout = rtmpose
    image, boxes, _ = scene_of(layout)
    model(image, boxes, padding=1.0)
    unpadded = model.session.fed[-1]
    reference, _ = mm_preprocess(image, boxes, size)
    assert np.abs(unpadded - reference).max() * STD_RGB.min() > 20
    bgr = ((reference.transpose(0, 2, 3, 1) * STD_RGB + MEAN_RGB)[..., ::-1] - MEAN_RGB) / STD_RGB
    assert np.abs(bgr.transpose(0, 3, 1, 2) - reference).max() * STD_RGB.min() > 20


def test_simcc_decode_and_mapping_back_match_mmpose(rtmpose, scene_of) -> None:
    model, size, layout = rtmpose
    image, boxes, expected = scene_of(layout)
    result = model(image, boxes)
    simcc_x, simcc_y = model.session.outputs[-1]
    assert simcc_x.shape == (3, len(expected[0]), 2 * size[0]) and simcc_y.shape == (3, len(expected[0]), 2 * size[1])
    crop_kp, scores = mm_decode(simcc_x, simcc_y, split_ratio=2.0)
    _, metas = mm_preprocess(image, boxes, size)
    reference = mm_to_image(crop_kp, metas, size)
    np.testing.assert_allclose(result.scores, scores, rtol=1e-6, atol=1e-6)  # min of the two maxima
    positive = scores > 0
    assert positive.mean() > 0.9  # the markers answer: nearly every keypoint scores above 0
    np.testing.assert_allclose(result.keypoints[positive], reference[positive], atol=1e-3)
    # And both land on the drawn markers (SimCC's half-crop-pixel bins, ~1.5 image px here).
    assert np.linalg.norm(result.keypoints - expected, axis=-1).max() < 1.6


def test_reference_decode_known_values() -> None:
    """get_simcc_maximum on hand-made vectors: argmax / ratio, the smaller maximum, -1 below 0."""
    sx = np.full((1, 2, 8), -1.0)
    sy = np.full((1, 2, 6), -1.0)
    sx[0, 0, 5], sy[0, 0, 2] = 0.9, 0.4
    sx[0, 1, 1], sy[0, 1, 3] = -0.2, 0.8
    locs, vals = mm_decode(sx, sy, 2.0)
    np.testing.assert_allclose(locs[0, 0], [2.5, 1.0])
    np.testing.assert_allclose(vals[0], [0.4, -0.2])
    np.testing.assert_allclose(locs[0, 1], [-0.5, -0.5])  # -1 bins / ratio: MMPose's "not found"
