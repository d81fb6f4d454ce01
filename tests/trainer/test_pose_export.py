"""`flowpose export`: ONNX with its card, dynamic batch, ONNX Runtime checked against PyTorch."""

from __future__ import annotations

import contextlib
import copy
import io
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

import onnxruntime as ort  # noqa: E402

from flowpose.cli.main import main  # noqa: E402
from flowpose.codecs import build_codec  # noqa: E402
from flowpose.models import read_card  # noqa: E402
from flowpose.trainer.engine import Checkpoint, build_task, save_checkpoint  # noqa: E402
from flowpose.trainer.export.onnx_export import ExportCheckError, verify_export  # noqa: E402
from trainer_support import assert_no_build_traces, tiny_config  # noqa: E402


def _checkpoint(path: Path, **sections) -> tuple[Path, torch.nn.Module]:
    config = tiny_config(**sections)
    torch.manual_seed(0)
    model = build_task(config, Path(".")).build_model(pretrained=False).eval()
    save_checkpoint(Checkpoint(config=config, model=model.state_dict()), path)
    return path, model


@pytest.fixture(scope="module", params=["heatmap", "simcc"])
def exported(request, tmp_path_factory) -> dict:
    """`flowpose export` of an untrained tiny checkpoint, once per codec."""
    codec = request.param
    tmp = tmp_path_factory.mktemp(f"export_{codec}")
    model_cfg = {"codec": {"type": "simcc", "sigma": [3.0, 3.0]}} if codec == "simcc" else {}
    ckpt, model = _checkpoint(tmp / "best.pt", model=model_cfg)
    out = tmp / "pose.onnx"
    capture = io.StringIO()
    with contextlib.redirect_stdout(capture):
        code = main(["export", str(ckpt), "-o", str(out), "--name", "tiny"])
    return {"codec": codec, "code": code, "printed": capture.getvalue(), "ckpt": ckpt, "model": model, "onnx": out}


def test_export_round_trip(exported: dict) -> None:
    codec, out, model = exported["codec"], exported["onnx"], exported["model"]
    assert exported["code"] == 0
    diff = float(exported["printed"].split("max |onnxruntime - pytorch| = ")[1].split()[0])
    assert 0 <= diff < 1e-3

    card = read_card(out)
    assert card is not None and card.task == "pose" and card.name == "tiny"
    assert card.input_size == (64, 64) and card.keypoint_layout == "coco17" and card.labels == ("person",)
    assert card.color_order == "rgb" and card.mean == pytest.approx((123.675, 116.28, 103.53))
    names = ("heatmaps",) if codec == "heatmap" else ("simcc_x", "simcc_y")
    assert card.output_names == names
    decoder = build_codec(card.codec)
    assert decoder.type_name == codec
    assert_no_build_traces(out)  # the exporter's stack traces (with local paths) are dropped

    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape[0] == "batch"  # dynamic: the node batches all crops of a frame
    x = torch.randn(5, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    got = session.run(list(names), {"input": x.numpy()})
    with torch.no_grad():
        want = [t.numpy() for t in model(x)]
    for g, w in zip(got, want, strict=True):
        assert g.shape[0] == 5
        np.testing.assert_allclose(g, w, atol=1e-4)
    # The card's codec decodes the file's outputs.
    assert decoder.decode(*got).keypoints.shape == (5, 17, 2)


def test_a_model_that_differs_from_its_file_fails_the_check(exported: dict) -> None:
    """What `flowpose export` runs after writing: a file that does not match PyTorch is rejected."""
    model = copy.deepcopy(exported["model"])
    assert verify_export(model, exported["onnx"], (64, 64), bound=1e-5) < 1e-5
    gen = torch.Generator().manual_seed(2)
    with torch.no_grad():  # the PyTorch side now differs from the written file
        for p in model.head.parameters():
            p.add_(0.5 * torch.randn(p.shape, generator=gen))
    # (An untrained heatmap model's softmax maps are nearly flat: the change shows as ~1e-4.)
    with pytest.raises(ExportCheckError, match="differs from PyTorch by"):
        verify_export(model, exported["onnx"], (64, 64), bound=1e-5)


def test_export_of_a_missing_checkpoint_is_a_clear_error(tmp_path: Path, capsys) -> None:
    assert main(["export", str(tmp_path / "nope.pt"), "-o", str(tmp_path / "m.onnx")]) == 2
    assert "checkpoint not found" in capsys.readouterr().err


def test_an_unknown_export_option_is_refused_by_name(exported: dict, tmp_path: Path) -> None:
    task = build_task(tiny_config(), Path("."))
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['halve'\] in the export options; known: \['bound'"):
        task.export(exported["model"], tmp_path / "x.onnx", halve=True)
    assert not (tmp_path / "x.onnx").exists()


def test_float16_weights_halve_the_file_and_keep_the_outputs(exported: dict, tmp_path: Path) -> None:
    out = tmp_path / "half.onnx"
    capture = io.StringIO()
    with contextlib.redirect_stdout(capture):
        code = main(["export", str(exported["ckpt"]), "-o", str(out), "--name", "tiny", "--weights", "float16"])
    assert code == 0 and "(float16 weights; with float32 weights" in capture.getvalue()
    assert out.stat().st_size < 0.7 * exported["onnx"].stat().st_size  # the graph itself stays the same size
    card = read_card(out)
    assert card is not None and card.name == "tiny" and card.codec == read_card(exported["onnx"]).codec
    x = np.random.default_rng(3).normal(size=(2, 3, 64, 64)).astype(np.float32)
    full, half = (ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]) for p in (exported["onnx"], out))
    for a, b in zip(full.run(None, {"input": x}), half.run(None, {"input": x}), strict=True):
        assert a.dtype == b.dtype == np.float32
        assert 0 < np.abs(a - b).max() <= 1e-2 * np.abs(a).max()
