"""Detector export: YOLOX raw format with its card, ONNX Runtime against PyTorch, and the node's decoder."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

import onnxruntime as ort  # noqa: E402

from flowpose.detection import DetectionSettings, OnnxDetector, YoloxDecoder, preprocess_image  # noqa: E402
from flowpose.models import read_card  # noqa: E402
from flowpose.synthetic import SceneConfig, render_sample  # noqa: E402
from flowpose.trainer.commands import export_command  # noqa: E402
from flowpose.trainer.detection.evaluate import postprocess  # noqa: E402
from flowpose.trainer.detection.loss import decode_boxes  # noqa: E402
from flowpose.trainer.detection.model import ExportModel  # noqa: E402
from flowpose.trainer.detection.task import build_detection_task  # noqa: E402
from flowpose.trainer.engine import Checkpoint, save_checkpoint  # noqa: E402
from trainer_support import assert_no_build_traces  # noqa: E402

CONFIG = {
    "task": "detection",
    "data": {"input_size": [160, 128], "val_size": 2, "classes": ["person", "dog", "cat"]},
    "model": {"widths": [8, 16, 24, 32, 48], "depths": [0, 1, 1, 1], "neck_channels": 24},
    "export": {"name": "tiny-test-detector"},
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory):
    """An (untrained, seeded) tiny detector exported once for the tests of this file."""
    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("det_export")
    task = build_detection_task(copy.deepcopy(CONFIG), out)
    model = task.build_model().eval()
    with torch.no_grad():  # spread the scores as training would: at the prior they tie to 1e-7
        for head in model.heads:
            for layer in (head.obj, head.cls):
                layer.weight.normal_(0.0, 1.0)
                layer.bias.zero_()
    report = task.export(model, out / "det.onnx")
    return task, model, out / "det.onnx", report


def test_export_writes_yolox_raw_format_with_card(exported) -> None:
    task, _, path, report = exported
    assert report["max_abs_diff"] < 1e-4 and report["path"] == str(path)
    assert report["size_bytes"] == path.stat().st_size
    card = read_card(path)
    assert card is not None and card.task == "detection" and card.decoder == "yolox"
    assert card.decoder_params == {"strides": [8, 16, 32]}
    assert card.classes == ("person", "dog", "cat") and card.input_size == (160, 128)
    assert card.preprocess == "letterbox" and card.pad_align == "top_left" and card.color_order == "bgr"
    assert card.name == "tiny-test-detector"
    assert_no_build_traces(path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,), (out,) = session.get_inputs(), session.get_outputs()
    assert (inp.name, inp.shape[1:]) == ("images", [3, 128, 160])
    assert not isinstance(inp.shape[0], int)  # a free batch axis (several cameras in one call)
    anchors = sum((160 // s) * (128 // s) for s in (8, 16, 32))
    assert (out.name, out.shape) == ("output", ["batch", anchors, 5 + 3])
    x = np.random.default_rng(1).uniform(0, 255, (1, 3, 128, 160)).astype(np.float32)
    got = session.run(None, {"images": x})[0]
    with torch.no_grad():
        ref = ExportModel(task.build_model()).eval()  # a different (random) model must differ...
        mine = ExportModel(exported[1]).eval()(torch.from_numpy(x)).numpy()
        other = ref(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, mine, atol=1e-4)  # ...while ours matches ONNX Runtime
    assert np.abs(got - other).max() > 1e-3
    assert ((got[..., 4:] >= 0) & (got[..., 4:] <= 1)).all()  # scores went through the sigmoid


def test_node_decoding_matches_torch_decoding(exported) -> None:
    task, model, path, _ = exported
    image = render_sample(np.random.default_rng(7), SceneConfig(width=320, height=240)).image
    tensor, transform = preprocess_image(image, task.card)
    with torch.no_grad():
        probs = ExportModel(model).eval()(torch.from_numpy(tensor))
    grid, strides = task.anchors(torch.device("cpu"))

    # Every anchor: the node's YOLOX decoder on ONNX Runtime's output vs the trainer's decoding in torch.
    onnx_out = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"images": tensor})
    raw = YoloxDecoder(task.card.input_size, [8, 16, 32], 3, "test").decode(onnx_out, 0.0, None)
    torch_boxes = decode_boxes(probs[0, :, :4], grid, strides).numpy()
    torch_scores = (probs[0, :, 4] * probs[0, :, 5:].max(-1).values).numpy()
    assert len(raw) == len(grid)
    np.testing.assert_allclose(raw.boxes, torch_boxes, atol=1e-3)
    np.testing.assert_allclose(raw.scores, torch_scores, atol=1e-6)

    # After thresholds and NMS, in image pixels: the Detector node's backend vs the trainer's evaluation path.
    settings = DetectionSettings(score_threshold=float(np.sort(torch_scores)[-40]), nms_iou=0.5, max_detections=20)
    node = OnnxDetector(path, task.card, settings).detect(image)
    mine = postprocess(probs, grid, strides, settings.score_threshold, settings.nms_iou, settings.max_detections)[0]
    assert len(node) == len(mine.scores) == 20
    np.testing.assert_allclose(node.boxes, transform.boxes_to_image(mine.boxes), atol=1e-2)
    np.testing.assert_array_equal(node.labels, mine.labels)
    np.testing.assert_allclose(node.scores, mine.scores, atol=1e-5)


def test_export_command_rebuilds_the_task_from_a_checkpoint(exported, tmp_path: Path, capsys) -> None:
    task, model, _, _ = exported
    ckpt = tmp_path / "best.pt"
    save_checkpoint(Checkpoint(config=task.config, model=model.state_dict()), ckpt)
    out = tmp_path / "cli.onnx"
    assert export_command(str(ckpt), str(out), {"card": {"name": "renamed"}, "opset": 18}) == 0
    assert "max |onnxruntime - pytorch|" in capsys.readouterr().out
    card = read_card(out)
    assert card is not None and card.name == "renamed" and card.classes == ("person", "dog", "cat")
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['halve'\] in the export options"):
        task.export(model, tmp_path / "x.onnx", halve=True)


def test_float16_weights_shrink_the_detector_and_pass_the_check(exported, tmp_path: Path) -> None:
    task, model, _, full = exported
    report = task.export(model, tmp_path / "half.onnx", weights="float16")
    assert report["weights"] == "float16" and report["float32_max_abs_diff"] < 1e-4
    # (A tiny test model's file is mostly graph, not weights: compare the weights themselves.)
    assert _weight_bytes(tmp_path / "half.onnx") < 0.55 * _weight_bytes(Path(full["path"]))
    assert report["max_abs_diff"] > 0  # float16 weights do change the outputs a little
    card = read_card(tmp_path / "half.onnx")
    assert card is not None and card.name == "tiny-test-detector" and card.classes == ("person", "dog", "cat")


def _weight_bytes(path: Path) -> int:
    import onnx

    return sum(len(init.raw_data) for init in onnx.load(str(path)).graph.initializer)


def test_the_export_has_a_free_batch_axis_for_many_cameras(exported) -> None:
    _, model, path, _ = exported
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert not isinstance(session.get_inputs()[0].shape[0], int)
    images = torch.from_numpy(np.random.default_rng(1).uniform(0, 255, (3, 3, 128, 160)).astype(np.float32))
    got = session.run(None, {session.get_inputs()[0].name: images.numpy()})[0]
    with torch.no_grad():
        expected = ExportModel(model).eval()(images).numpy()
    assert got.shape[0] == 3 and np.abs(got - expected).max() < 1e-3
    detector = OnnxDetector(path, read_card(path), DetectionSettings(score_threshold=0.0))
    assert detector.dynamic_batch
    frames = [np.ascontiguousarray(img.permute(1, 2, 0).numpy().astype(np.uint8)) for img in images]
    for many, one in zip(detector.detect_many(frames), map(detector.detect, frames), strict=True):
        np.testing.assert_allclose(many.boxes, one.boxes, atol=1e-2)
