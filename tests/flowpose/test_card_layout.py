"""Cards that carry their keypoint layout, and layouts registered by name for the nodes downstream."""

from __future__ import annotations

import pytest

from flowpose.meta import load_layout, register_layout
from flowpose.meta.loading import layout_from_dict
from flowpose.models import ModelCard

CODEC = {"type": "heatmap", "input_size": [64, 64], "heatmap_size": [16, 16], "sigma": 2.0}


def _layout(name: str = "card_test_mice", names=("snout", "left_ear", "right_ear")) -> dict:
    return {
        "name": name,
        "keypoints": [{"name": n, "color": [0, 0, 255], "sigma": 0.05, "weight": 1.0} for n in names],
        "flip_pairs": [["left_ear", "right_ear"]],
        "skeleton": [{"link": ["snout", "left_ear"], "color": [0, 255, 0]}],
    }


def _card(**fields) -> ModelCard:
    base = {
        "task": "pose",
        "input_size": (64, 64),
        "codec": CODEC,
        "keypoint_layout": "card_test_mice",
        "labels": ("mouse",),
    }
    return ModelCard(**{**base, **fields})


def test_embedded_layout_round_trips_through_json() -> None:
    card = _card(layout=_layout())
    again = ModelCard.from_json(card.to_json())
    layout = again.embedded_layout()
    assert layout is not None and layout.keypoint_names == ("snout", "left_ear", "right_ear")
    assert layout.flip_pairs == ((1, 2),) and layout.skeleton == ((0, 1),)
    assert _card().embedded_layout() is None and "layout" not in _card().to_dict()  # older cards: a name only


def test_embedded_layout_is_checked() -> None:
    with pytest.raises(ValueError, match="layout is named 'other' but keypoint_layout is 'card_test_mice'"):
        _card(layout=_layout("other"))
    bad = _layout()
    bad["flip_pairs"] = [["left_ear", "tail"]]
    with pytest.raises(ValueError, match=r"embedded layout: flip_pairs\[0\]: unknown keypoint 'tail'"):
        _card(layout=bad)
    with pytest.raises(ValueError, match="layout applies to pose cards only"):
        ModelCard(task="detection", input_size=(64, 64), decoder="yolox", decoder_params={"strides": [8]},
                  classes=("a",), layout=_layout())  # fmt: skip


def test_registered_layouts_load_by_name_and_never_clash() -> None:
    mine = layout_from_dict(_layout("card_test_registered"))
    with pytest.raises(ValueError, match="unknown keypoint layout 'card_test_registered'"):
        load_layout("card_test_registered")
    assert register_layout(mine) is mine
    assert load_layout("card_test_registered") is mine
    assert register_layout(layout_from_dict(_layout("card_test_registered"))) is mine  # the same again: fine
    other = layout_from_dict(_layout("card_test_registered", ("snout", "left_ear", "right_ear", "tail")))
    with pytest.raises(ValueError, match="two different keypoint layouts are called 'card_test_registered'"):
        register_layout(other)
    fake_coco = layout_from_dict(_layout("coco17"))
    with pytest.raises(ValueError, match="differs from the built-in layout"):
        register_layout(fake_coco)
    assert load_layout("coco17").num_keypoints == 17


def test_model_info_summarises_the_embedded_layout() -> None:
    from flowpose.cli.zoo_commands import describe_card

    text = describe_card(_card(layout=_layout()))
    assert (
        "layout:         embedded, 3 keypoints (snout, left_ear, right_ear); 1 links; flip pairs left_ear/right_ear"
        in text
    )
    assert '"keypoints"' not in text  # not the JSON
