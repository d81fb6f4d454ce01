"""The detector task: SimOTA assignment, a tiny training through the engine, and the data it trains on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from flowpose.trainer.detection.assign import simota_assign  # noqa: E402
from flowpose.trainer.detection.data import DetectionDataConfig  # noqa: E402
from flowpose.trainer.detection.evaluate import ImageDetections, coco_metrics  # noqa: E402
from flowpose.trainer.detection.loss import decode_boxes, giou_loss  # noqa: E402
from flowpose.trainer.detection.model import anchor_points  # noqa: E402
from flowpose.trainer.detection.task import build_detection_task  # noqa: E402
from flowpose.trainer.engine import Trainer, TrainSettings, load_checkpoint  # noqa: E402

TINY = {
    "task": "detection",
    "seed": 0,
    "data": {
        "input_size": [128, 128],
        "train_size": 32,
        "val_size": 8,
        "fresh_each_epoch": False,
        "render_width": [128, 192],
    },
    "model": {"widths": [8, 16, 24, 32, 48], "depths": [0, 1, 1, 1], "neck_channels": 24},
    "train": {
        "epochs": 5,
        "batch_size": 8,
        "lr": 0.01,
        "warmup_epochs": 0.5,
        "workers": 0,
        "threads": 1,
        "val_every": 5,
        "progress": False,
        "tensorboard": False,
    },
}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory):
    """A tiny detector trained for 20 steps through the engine's loop (shared by the tests here)."""
    out = tmp_path_factory.mktemp("det_run")
    task = build_detection_task(TINY, out)
    result = Trainer(task, TrainSettings.from_dict(TINY["train"]), out, seed=0).fit()
    return task, result


def test_tiny_training_lowers_the_loss_and_writes_checkpoints(tiny_run) -> None:
    task, result = tiny_run
    losses = [row["loss"] for row in result.history]
    assert len(losses) == 5 and all(np.isfinite(losses))
    assert losses[-1] < 0.9 * losses[0], losses
    assert {"val_mAP50", "val_recall50", "val_AP50_person"} <= set(result.history[-1])
    assert (result.output_dir / "metrics.csv").read_text().startswith("epoch,")
    ckpt = load_checkpoint(result.best_checkpoint)
    assert ckpt.config["task"] == "detection"
    model = task.build_model(pretrained=False)
    model.load_state_dict(ckpt.model)  # the checkpoint rebuilds the same network


def test_assignment_picks_points_inside_each_object() -> None:
    grid, strides = anchor_points((64, 64), (8, 16))
    centres = (grid + 0.5) * strides[:, None]
    gt = torch.tensor([[[4.0, 4.0, 28.0, 28.0], [36.0, 36.0, 60.0, 60.0], [0, 0, 0, 0]]])
    labels = torch.tensor([[0, 1, -1]])
    # Predictions that already fit: every point predicts the box of the object whose centre is nearest.
    nearest = ((centres[:, None] - (gt[0, :2, :2] + gt[0, :2, 2:]) / 2) ** 2).sum(-1).argmin(1)
    boxes = gt[0, nearest][None]
    obj = torch.zeros(1, len(grid))
    cls = torch.zeros(1, len(grid), 2)
    a = simota_assign(boxes, obj, cls, centres, strides, gt, labels)
    fg = a.foreground[0]
    for g in (0, 1):
        x1, y1, x2, y2 = gt[0, g]
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        x, y = centres[:, 0], centres[:, 1]
        inside = (x > x1) & (x < x2) & (y > y1) & (y < y2)
        near = ((x - cx).abs() < 2.5 * strides) & ((y - cy).abs() < 2.5 * strides)
        mine = fg & (a.gt_index[0] == g)
        assert (mine <= (inside | near)).all()  # positives come from the box or the centre region
        assert (mine >= (inside & near)).all()  # and the points in both are taken first (k = 10 here)
        assert torch.allclose(a.iou[0, mine], torch.ones(int(mine.sum())))
    assert set(a.gt_index[0, fg].tolist()) == {0, 1}  # both objects got positives
    empty = simota_assign(boxes, obj, cls, centres, strides, gt[:, 2:], labels[:, 2:])
    assert not empty.foreground.any()


def test_decode_and_giou() -> None:
    grid, strides = anchor_points((32, 32), (8,))
    raw = torch.zeros(1, len(grid), 4)
    raw[0, 5] = torch.tensor([0.5, 0.5, np.log(2.0), 0.0])  # cell (1, 1): centre 12, 12; 16 x 8
    boxes = decode_boxes(raw, grid, strides)
    assert boxes[0, 5].tolist() == [4.0, 8.0, 20.0, 16.0]
    same = torch.tensor([[0.0, 0, 10, 10]])
    assert giou_loss(same, same).item() == pytest.approx(0.0, abs=1e-6)
    apart = giou_loss(torch.tensor([[0.0, 0, 10, 10]]), torch.tensor([[20.0, 0, 30, 10]]))
    assert apart.item() == pytest.approx(1.0 + 10 / 30)  # IoU 0, hull 30x10 with 10x10 empty


def test_coco_metrics_of_perfect_and_wrong_detections() -> None:
    gts = [(np.array([[10, 10, 50, 80], [60, 20, 90, 40]], np.float32), np.array([0, 2]))]
    perfect = [ImageDetections(gts[0][0], np.array([0.9, 0.8], np.float32), gts[0][1])]
    wrong_class = [ImageDetections(gts[0][0], np.array([0.9, 0.8], np.float32), np.array([1, 1]))]
    classes = ("person", "dog", "cat")
    good = coco_metrics(gts, perfect, classes)
    assert good["mAP50"] == pytest.approx(1.0) and good["mAP"] == pytest.approx(1.0)
    assert good["recall50"] == 1.0 and good["precision50"] == 1.0
    bad = coco_metrics(gts, wrong_class, classes)
    assert bad["mAP50"] == pytest.approx(0.0) and bad["recall50"] == 0.0


def test_training_images_are_letterboxed_like_the_node(tmp_path: Path) -> None:
    from flowpose.detection.preprocess import preprocess_image

    task = build_detection_task(TINY, tmp_path)
    ds = task.val_dataset()
    item = ds[3]
    image, boxes, labels = ds.render(3)
    expected, transform = preprocess_image(image, task.card)
    np.testing.assert_array_equal(item["image"].numpy(), expected[0])
    kept = item["labels"] >= 0
    assert int(kept.sum()) <= len(labels)
    model_boxes = transform.boxes_to_model(boxes)
    for box in item["boxes"][kept].numpy():  # every target is one of the rendered objects, mapped
        assert np.abs(model_boxes - box).max(axis=1).min() < 1e-3
    again = ds[3]
    assert torch.equal(again["image"], item["image"])  # validation images are fixed


def test_config_errors_name_the_field(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"data.classes \['zebra'\] are never drawn"):
        DetectionDataConfig(classes=("person", "zebra"))
    with pytest.raises(ValueError, match="unknown key"):
        build_detection_task({**TINY, "data": {"input_sise": [64, 64]}}, tmp_path)
    with pytest.raises(ValueError, match="multiples of 32"):
        build_detection_task({**TINY, "data": {"input_size": [100, 100]}}, tmp_path)
    with pytest.raises(ValueError, match=r"model\.strides"):
        build_detection_task({**TINY, "model": {"strides": [4, 8]}}, tmp_path)


def test_resume_repeats_the_uninterrupted_run(tmp_path: Path) -> None:
    # Fresh scenes every epoch come from numpy's global RNG, which the loop reseeds per epoch:
    # a run resumed from last.pt must draw the same images and reach the same weights.
    config = {**TINY, "data": {**TINY["data"], "fresh_each_epoch": True, "train_size": 16}}
    settings = TrainSettings.from_dict({**TINY["train"], "epochs": 2, "val_every": 2})
    whole = Trainer(build_detection_task(config, tmp_path), settings, tmp_path / "a", seed=3).fit()
    Trainer(build_detection_task(config, tmp_path), settings, tmp_path / "b", seed=3).fit(stop_after=1)
    resumed = Trainer(build_detection_task(config, tmp_path), settings, tmp_path / "b", seed=3).fit(
        resume=tmp_path / "b" / "last.pt"
    )
    assert [r["loss"] for r in resumed.history] == pytest.approx([r["loss"] for r in whole.history], rel=1e-5)
    a, b = load_checkpoint(whole.last_checkpoint).model, load_checkpoint(resumed.last_checkpoint).model
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-5) for k in a)
