"""Keypoint layouts: built-ins, user files, and the errors bad files get."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from flowpose.meta import KeypointLayout, available_layouts, layout_from_dict, load_layout

MINIMAL: dict[str, Any] = {
    "name": "tri",
    "keypoints": [
        {"name": "head", "color": [255, 0, 0], "sigma": 0.05, "half": "upper"},
        {"name": "left_hand", "color": [0, 255, 0], "sigma": 0.07, "weight": 1.5, "half": "upper"},
        {"name": "right_hand", "color": [0, 0, 255], "sigma": 0.07, "weight": 1.5, "half": "lower"},
    ],
    "flip_pairs": [["left_hand", "right_hand"]],
    "skeleton": [{"link": ["head", "left_hand"], "color": [1, 2, 3]}, ["head", 2]],
}


def _write(tmp_path: Path, data: Any, name: str = "layout.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "num_keypoints", "num_links", "left", "right"),
    [("coco17", 17, 19, "left_", "right_"), ("ap10k", 17, 17, "L_", "R_")],
)
def test_builtin_layouts_load_with_symmetric_flip(
    name: str, num_keypoints: int, num_links: int, left: str, right: str
) -> None:
    layout = load_layout(name)
    assert layout.name == name
    assert layout.num_keypoints == num_keypoints and len(layout.skeleton) == num_links
    flip = layout.flip_index
    assert flip.shape == (num_keypoints,)
    np.testing.assert_array_equal(flip[flip], np.arange(num_keypoints))  # flipping twice is identity
    for i, j in enumerate(flip):
        a, b = layout.keypoint_names[i], layout.keypoint_names[j]
        if a.startswith(left):
            assert b == right + a[len(left) :]
        elif a.startswith(right):
            assert b == left + a[len(right) :]
        else:
            assert i == j, f"{a} is central but flips to {b}"
    assert layout.sigmas_array.shape == (num_keypoints,) and (layout.sigmas_array > 0).all()
    assert set(layout.upper_body_ids) | set(layout.lower_body_ids) == set(range(num_keypoints))


def test_builtins_are_listed_and_cached() -> None:
    assert {"coco17", "ap10k"} <= set(available_layouts())
    assert load_layout("coco17") is load_layout("coco17")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("coco17", ["nose", "left_eye", "right_eye"]),
        ("ap10k", ["L_Eye", "R_Eye", "Nose", "Neck", "Root of tail"]),
    ],
)
def test_builtin_keypoint_order(name: str, expected: list[str]) -> None:
    assert list(load_layout(name).keypoint_names[: len(expected)]) == expected


def test_unknown_name_lists_known_layouts() -> None:
    with pytest.raises(ValueError, match=r"unknown keypoint layout 'coco'.*ap10k.*coco17"):
        load_layout("coco")


@pytest.mark.parametrize("as_path", [True, False])
def test_user_file_loads_by_path(tmp_path: Path, as_path: bool) -> None:
    path = _write(tmp_path, MINIMAL)
    layout = load_layout(path if as_path else str(path))
    assert layout.keypoint_names == ("head", "left_hand", "right_hand")
    assert layout.skeleton == ((0, 1), (0, 2))
    assert layout.link_colors == ((1, 2, 3), (0, 255, 0))
    assert layout.flip_index.tolist() == [0, 2, 1]
    assert layout.joint_weights == (1.0, 1.5, 1.5)
    assert layout.upper_body_ids == (0, 1) and layout.lower_body_ids == (2,)
    assert layout.index("right_hand") == 2


@pytest.mark.parametrize("name", ["coco17", "ap10k"])
def test_to_dict_round_trips(name: str) -> None:
    layout = load_layout(name)
    assert layout_from_dict(layout.to_dict()) == layout


def _mutate(path: str, value: Any) -> dict[str, Any]:
    data = yaml.safe_load(yaml.safe_dump(MINIMAL))
    *keys, last = path.split(".")
    target = data
    for key in keys:
        target = target[int(key)] if key.isdigit() else target[key]
    if value is _DELETE:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("keypoints", _DELETE, "missing field 'keypoints'"),
        ("flip_pairs.0", ["left_hand", "left_foot"], r"flip_pairs\[0\]: unknown keypoint 'left_foot'"),
        ("flip_pairs", [["left_hand", "right_hand"], ["right_hand", "head"]], "appears in flip pairs"),
        ("flip_pairs", [["head", "head"]], "joins a keypoint to itself"),
        ("keypoints.1.sigma", -0.1, "sigmas must all be > 0"),
        ("keypoints.1.sigma", "big", r"keypoints\[1\].sigma must be a number"),
        ("keypoints.2.name", "head", "duplicate keypoint names"),
        ("keypoints.0.color", [0, 0, 300], r"keypoint_colors\[0\] must be 3 integers in 0..255"),
        ("keypoints.0.half", "middle", r"half must be one of \['upper', 'lower'\]"),
        ("keypoints.0.shape", "round", r"unknown fields \['shape'\]"),
        ("skeleton.1", ["head", 7], r"skeleton pair \(0, 7\) out of range for 3 keypoints"),
        ("skeleton.1", ["head"], "expected a pair of two keypoints"),
        ("colour", "red", r"unknown fields \['colour'\]"),
    ],
)
def test_bad_files_give_precise_errors(tmp_path: Path, path: str, value: Any, message: str) -> None:
    file = _write(tmp_path, _mutate(path, value))
    with pytest.raises(ValueError, match=message) as info:
        load_layout(file)
    assert str(file) in str(info.value)  # the message says which file


@pytest.mark.parametrize(
    ("text", "message"), [("name: [unclosed", "not valid YAML"), ("- a\n- b\n", "expected a mapping")]
)
def test_unparseable_files(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_layout(_write(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not found"):
        load_layout(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sigmas": (0.1,)}, "sigmas has 1 entries, expected 2"),
        ({"link_colors": ()}, "link_colors has 0 entries, expected 1"),
        ({"joint_weights": (1.0, -1.0)}, "joint_weights must all be >= 0"),
        ({"upper_body_ids": (0,), "lower_body_ids": (0, 1)}, r"keypoints \[0\] are in both"),
        ({"lower_body_ids": (5,)}, r"lower_body_ids \[5\] out of range"),
        ({"name": ""}, "name must not be empty"),
    ],
)
def test_dataclass_validation(changes: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = {
        "name": "pair",
        "keypoint_names": ("a", "b"),
        "skeleton": ((0, 1),),
        "keypoint_colors": ((0, 0, 0), (1, 1, 1)),
        "link_colors": ((2, 2, 2),),
        "flip_pairs": ((0, 1),),
        "sigmas": (0.1, 0.1),
        "joint_weights": (1.0, 1.0),
    }
    KeypointLayout(**fields)  # the unchanged fields are valid
    with pytest.raises(ValueError, match=message):
        KeypointLayout(**{**fields, **changes})
