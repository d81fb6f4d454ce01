"""Tests for flowpose.models cards: validation, JSON, embedding in ONNX, sidecars and presets."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from flowpose.models import (
    CARD_KEY,
    PRESETS,
    CardNotFoundError,
    ModelCard,
    find_card,
    preset_card,
    read_card,
    read_metadata,
    resolve_card,
    sidecar_path,
    write_card,
)

onnx = pytest.importorskip("onnx")


def make_model(path: Path, size_wh=(192, 256), outputs=("simcc_x", "simcc_y"), input_name="input") -> Path:
    """A tiny valid ONNX model: each output is an Identity of the 1x3xHxW input."""
    from onnx import TensorProto, helper

    w, h = size_wh
    inp = helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [1, 3, h, w])
    outs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in outputs]
    nodes = [helper.make_node("Identity", [input_name], [name]) for name in outputs]
    graph = helper.make_graph(nodes, "tiny", [inp], outs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def pose_card(**overrides) -> ModelCard:
    fields = {
        "task": "pose",
        "input_size": (192, 256),
        "mean": (123.675, 116.28, 103.53),
        "std": (58.395, 57.12, 57.375),
        "output_names": ("simcc_x", "simcc_y"),
        "codec": {"type": "simcc", "input_size": [192, 256], "sigma": [4.9, 5.66]},
        "keypoint_layout": "coco17",
        "labels": ("person",),
        "name": "test pose",
    }
    return ModelCard(**{**fields, **overrides})


def detection_card(**overrides) -> ModelCard:
    fields = {
        "task": "detection",
        "input_size": (416, 416),
        "color_order": "bgr",
        "classes": ("person", "dog"),
        "decoder": "yolox",
        "decoder_params": {"strides": [8, 16, 32]},
    }
    return ModelCard(**{**fields, **overrides})


# ---------------------------------------------------------------- the dataclass


def test_defaults_follow_the_task():
    assert pose_card().preprocess == "affine"
    det = detection_card()
    assert (det.preprocess, det.pad_value, det.pad_align) == ("letterbox", 114.0, "top_left")


@pytest.mark.parametrize("card", [pose_card(), detection_card(), preset_card("rtmdet_end2end")])
def test_json_round_trip(card):
    text = card.to_json()
    assert ModelCard.from_json(text) == card
    assert ModelCard.from_dict(yaml.safe_load(yaml.safe_dump(card.to_dict()))) == card


@pytest.mark.parametrize(
    ("make", "overrides", "message"),
    [
        (pose_card, {"task": "segmentation"}, "task must be one of"),
        (pose_card, {"input_size": (192, 0)}, "input_size must be two positive integers"),
        (pose_card, {"mean": (1, 2)}, "mean must be 3 finite numbers"),
        (pose_card, {"std": (1, 0, 1)}, "std must be 3 positive finite numbers"),
        (pose_card, {"color_order": "hsv"}, "color_order must be one of"),
        (pose_card, {"input_layout": "chw"}, "input_layout must be one of"),
        (pose_card, {"codec": None}, "a pose card needs codec"),
        (pose_card, {"codec": {"type": "simcc"}}, "codec: codec 'simcc' needs parameter(s) ['input_size']"),
        (
            pose_card,
            {"codec": {"type": "simcc", "input_size": [256, 256]}},
            "differs from the card's input_size",
        ),
        (pose_card, {"keypoint_layout": ""}, "needs keypoint_layout"),
        (pose_card, {"labels": ()}, "labels must be a non-empty list"),
        (pose_card, {"labels": "person"}, "labels must be a non-empty list"),
        (pose_card, {"decoder": "yolox"}, "apply to detection cards only"),
        (pose_card, {"preprocess": "letterbox"}, "preprocess must be one of ['affine']"),
        (pose_card, {"output_names": ("a", "a")}, "output_names has duplicates: ['a']"),
        (pose_card, {"format_version": 99}, "upgrade flowpose"),
        (detection_card, {"classes": ()}, "classes must be a non-empty list"),
        (detection_card, {"decoder": "ssd"}, "decoder must be one of"),
        (detection_card, {"decoder": "flowpose_det"}, "decoder must be one of ['yolox', 'rtmdet_end2end']"),
        (detection_card, {"decoder_params": {}}, "needs decoder_params.strides"),
        (detection_card, {"pad_value": 300}, "pad_value must be a number in [0, 255]"),
        (detection_card, {"pad_align": "bottom"}, "pad_align must be one of"),
        (detection_card, {"keypoint_layout": "coco17"}, "keypoint_layout applies to pose cards only"),
        (detection_card, {"labels": ("person",)}, "labels applies to pose cards only"),
    ],
)
def test_invalid_fields_raise_precise_errors(make, overrides, message):
    with pytest.raises(ValueError) as info:
        make(**overrides)
    assert message in str(info.value)


def test_from_dict_names_source_and_unknown_fields():
    data = {**pose_card().to_dict(), "colour": "rgb"}
    with pytest.raises(ValueError, match=r"my\.yaml: unknown model card field\(s\) \['colour'\]"):
        ModelCard.from_dict(data, source="my.yaml")
    with pytest.raises(ValueError, match="not valid JSON"):
        ModelCard.from_json("{not json")


def test_presets_are_valid_and_match_their_exports():
    assert set(PRESETS) == {"yolox", "rtmdet_end2end", "rtmpose_simcc"}
    yolox = preset_card("yolox")
    assert (yolox.input_name, yolox.color_order, yolox.decoder_params) == (
        "images",
        "bgr",
        {"strides": [8, 16, 32]},
    )
    assert len(yolox.classes) == 80 and yolox.classes[0] == "person" and yolox.classes[16] == "dog"
    rtm = preset_card("rtmpose_simcc")
    assert rtm.input_size == (192, 256) and rtm.output_names == ("simcc_x", "simcc_y")
    assert rtm.codec["simcc_split_ratio"] == 2.0 and rtm.color_order == "rgb"
    # Overriding the input size carries the codec along.
    assert preset_card("rtmpose_simcc", input_size=[256, 256]).codec["input_size"] == [256, 256]
    with pytest.raises(ValueError, match="unknown preset 'yolo' \\(did you mean 'yolox'\\?\\)"):
        preset_card("yolo")


# ---------------------------------------------------------------- embedded in ONNX


def test_write_and_read_back_through_onnxruntime(tmp_path):
    src = make_model(tmp_path / "m.onnx")
    assert read_card(src) is None
    card = pose_card()
    out = write_card(src, card, out_path=tmp_path / "with_card.onnx")
    assert read_card(out) == card
    assert read_card(src) is None  # out_path leaves the source alone
    # Rewriting in place replaces the card instead of adding a second one.
    newer = dataclasses.replace(card, name="retrained")
    write_card(out, newer)
    assert read_card(out) == newer
    assert [p.key for p in onnx.load(str(out)).metadata_props].count(CARD_KEY) == 1
    assert not list(tmp_path.glob(".*tmp"))


def test_read_card_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="model file not found"):
        read_card(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="onnxruntime cannot load this model"):
        read_card(junk)
    bad = make_model(tmp_path / "bad.onnx")
    model = onnx.load(str(bad))
    model.metadata_props.add(key=CARD_KEY, value='{"task": "pose"}')
    onnx.save(model, str(bad))
    assert CARD_KEY in read_metadata(bad)
    with pytest.raises(ValueError, match=r"bad\.onnx \(embedded card\): .*input_size"):
        read_card(bad)


def test_write_card_without_onnx_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # makes `import onnx` raise ImportError
    with pytest.raises(ImportError, match=r"pip install 'flowpose\[train\]'"):
        write_card(tmp_path / "m.onnx", pose_card())


def test_reading_needs_neither_onnx_nor_torch(tmp_path):
    model = write_card(make_model(tmp_path / "m.onnx"), pose_card())
    code = (
        "import sys; from flowpose.models import read_card, resolve_card; import flowpose.zoo; "
        f"assert read_card({str(model)!r}).name == 'test pose'; resolve_card({str(model)!r}); "
        "bad = [m for m in ('onnx', 'torch') if m in sys.modules]; assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# ---------------------------------------------------------------- resolution


def test_embedded_beats_sidecar_beats_preset(tmp_path):
    model = make_model(tmp_path / "m.onnx")
    found = find_card(model, preset="rtmpose_simcc")
    assert (found.source, found.origin, found.card.name) == (
        "preset",
        "rtmpose_simcc",
        "RTMPose (mmdeploy end2end)",
    )
    sidecar = sidecar_path(model)
    assert sidecar == tmp_path / "m.card.yaml"
    sidecar.write_text("preset: rtmpose_simcc\nname: from sidecar\nlabels: [person, mannequin]\n")
    found = find_card(model, preset="rtmpose_simcc")
    assert (found.source, found.card.name, found.card.labels) == (
        "sidecar",
        "from sidecar",
        ("person", "mannequin"),
    )
    write_card(model, pose_card(name="embedded"))
    found = find_card(model, preset="rtmpose_simcc")
    assert (found.source, found.card.name) == ("embedded", "embedded")
    assert [n for n, _ in found.io.outputs] == ["simcc_x", "simcc_y"]


def test_full_card_sidecar(tmp_path):
    model = make_model(tmp_path / "m.onnx")
    sidecar_path(model).write_text(yaml.safe_dump(pose_card(name="full").to_dict()))
    assert resolve_card(model) == pose_card(name="full")


def test_preset_adopts_the_models_static_input_size(tmp_path):
    model = make_model(tmp_path / "square.onnx", size_wh=(256, 256))
    card = resolve_card(model, preset="rtmpose_simcc")
    assert card.input_size == (256, 256) and card.codec["input_size"] == [256, 256]


def test_card_that_does_not_fit_the_model(tmp_path):
    model = make_model(tmp_path / "m.onnx", size_wh=(256, 256))
    sidecar_path(model).write_text("preset: rtmpose_simcc\ninput_size: [192, 256]\n")
    with pytest.raises(ValueError, match=r"says input_size \(192, 256\).*model input is \[1, 3, 256, 256\]"):
        resolve_card(model)
    sidecar_path(model).unlink()
    with pytest.raises(ValueError, match=r"names input 'images'; the model's inputs: \['input'\]"):
        resolve_card(model, preset="yolox")
    other = make_model(tmp_path / "o.onnx", size_wh=(192, 256), outputs=("heatmaps",))
    with pytest.raises(
        ValueError, match=r"expects outputs \['simcc_x', 'simcc_y'\]; the model's outputs: \['heatmaps'\]"
    ):
        resolve_card(other, preset="rtmpose_simcc")


def test_no_card_names_the_file_and_the_three_options(tmp_path):
    model = make_model(tmp_path / "bare.onnx")
    with pytest.raises(CardNotFoundError) as info:
        resolve_card(model)
    text = str(info.value)
    for part in (
        str(model),
        "embedded card",
        str(tmp_path / "bare.card.yaml"),
        "preset",
        "rtmpose_simcc",
        "yolox",
    ):
        assert part in text
    sidecar_path(model).write_text("preset: [unclosed\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        resolve_card(model)
