"""Loading keypoint layouts: built-ins by name, user files by path, plain dicts.

Built-in layouts are YAML files shipped inside the package (``flowpose/meta/data/*.yaml``)
and read with :mod:`importlib.resources`, so they work from wheels and zips alike.
"""

from __future__ import annotations

import functools
import importlib.resources
import logging
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from flowpose.meta.layout import KeypointLayout

logger = logging.getLogger(__name__)

_DATA_PACKAGE = "flowpose.meta"
_DATA_DIR = "data"
_SUFFIXES = (".yaml", ".yml")
_HALVES = ("upper", "lower")
_KEYPOINT_FIELDS = {"name", "color", "sigma", "weight", "half"}
_TOP_FIELDS = {"name", "description", "keypoints", "flip_pairs", "skeleton"}

# Layouts made known at run time (embedded in a model's card), by name: instances carry only
# the name, and the nodes downstream of the pose node (Visualizer, Tracker, PoseRecorder)
# look it up here. Per process: a node in another process does not see them.
_REGISTERED: dict[str, KeypointLayout] = {}
_REGISTER_LOCK = threading.Lock()
_AS_DICT: dict[str, dict[str, Any]] = {}  # registered layouts in the file format, made once (frames carry them)
_ADOPTED: dict[str, Any] = {}  # layouts received from peers, as received
_CLASHED: set[str] = set()


def register_layout(layout: KeypointLayout) -> KeypointLayout:
    """Make ``layout`` loadable by its name in this process (a model card's embedded layout).

    Registering the same layout again is a no-op. A built-in's name is refused unless the
    layout equals the built-in: a model must not redefine ``coco17`` for the whole process.

    Returns:
        The layout now registered under that name.

    Raises:
        ValueError: Another, different layout already has the name.
    """
    name = layout.name
    if name in available_layouts():
        if _load_builtin(name) != layout:
            raise ValueError(
                f"keypoint layout {name!r} differs from the built-in layout of that name; "
                "export the model under another layout name (export.keypoint_layout)"
            )
        return _load_builtin(name)
    with _REGISTER_LOCK:
        known = _REGISTERED.setdefault(name, layout)
    if known != layout:
        raise ValueError(
            f"two different keypoint layouts are called {name!r} (models trained on different keypoints); "
            "export one of them under another layout name (export.keypoint_layout)"
        )
    return known


def available_layouts() -> list[str]:
    """Names of the built-in layouts, sorted (e.g. ``["ap10k", "coco17"]``)."""
    data = importlib.resources.files(_DATA_PACKAGE).joinpath(_DATA_DIR)
    return sorted(p.name.rsplit(".", 1)[0] for p in data.iterdir() if p.name.endswith(_SUFFIXES))


def run_time_layouts(names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The layouts among ``names`` that were registered at run time, in the file format.

    What a frame sent to another process carries beside its instances (see
    :mod:`flowpose.transport.wire`), so that nodes there know a model's own layout too.
    """
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        if name and name not in out and name in _REGISTERED:
            data = _AS_DICT.get(name)
            if data is None:
                data = _AS_DICT.setdefault(name, _REGISTERED[name].to_dict())
            out[name] = data
    return out


def adopt_layouts(layouts: Any, source: str) -> None:
    """Register the layouts a peer sent (:func:`run_time_layouts` output), once per name.

    A layout that clashes with one this process already knows under that name is not taken
    (warned once): the instances keep their name, and nodes use the layout known here.

    Raises:
        ValueError: ``layouts`` is malformed (not a mapping of names to layout mappings).
    """
    if not isinstance(layouts, Mapping):
        raise ValueError(f"{source}: layouts must be a map of names to layouts")
    for name, data in layouts.items():
        if _ADOPTED.get(name) == data:
            continue  # the common case, every frame after the first: one dict comparison
        layout = layout_from_dict(data, source=f"{source}: layout {name!r}")
        if layout.name != name:
            raise ValueError(f"{source}: layout sent as {name!r} is named {layout.name!r}")
        try:
            register_layout(layout)
        except ValueError as exc:
            if name not in _CLASHED:
                _CLASHED.add(name)
                logger.warning("%s: %s; keeping the one known here", source, exc)
        _ADOPTED[name] = data


def load_layout(name_or_path: str | Path) -> KeypointLayout:
    """Load a built-in layout by name or a user layout from a YAML file.

    A value is taken as a path when it is a :class:`~pathlib.Path`, ends in ``.yaml``/``.yml``
    or contains a path separator; otherwise it names a built-in.

    Args:
        name_or_path: ``"coco17"``, ``"ap10k"``, ... or the path of a layout file.

    Returns:
        The layout (frozen; built-ins are cached and shared).

    Raises:
        ValueError: Unknown built-in name (the message lists the known ones) or a bad file.
        FileNotFoundError: The path does not exist.
    """
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or text.endswith(_SUFFIXES) or "/" in text or "\\" in text:
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"keypoint layout file not found: {path}")
        return _parse_yaml(path.read_text(encoding="utf-8"), source=str(path))
    registered = _REGISTERED.get(text)
    return registered if registered is not None else _load_builtin(text)


@functools.cache
def _load_builtin(name: str) -> KeypointLayout:
    known = available_layouts()
    if name not in known:
        raise ValueError(
            f"unknown keypoint layout {name!r}; built-in layouts: {known} (or give a .yaml path; "
            "models exported by flowpose carry their own layout in their card)"
        )
    resource = importlib.resources.files(_DATA_PACKAGE).joinpath(_DATA_DIR, f"{name}.yaml")
    layout = _parse_yaml(resource.read_text(encoding="utf-8"), source=f"built-in layout {name!r}")
    if layout.name != name:
        # The file name is the lookup key; a mismatch would make instances name a layout nobody finds.
        raise ValueError(f"built-in layout file {name}.yaml declares name {layout.name!r}")
    return layout


def _parse_yaml(text: str, source: str) -> KeypointLayout:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{source}: not valid YAML: {exc}") from None
    return layout_from_dict(data, source=source)


def layout_from_dict(data: Any, source: str = "<dict>") -> KeypointLayout:
    """Build a layout from the file format (see :mod:`flowpose.meta.layout`).

    Keypoints in ``flip_pairs`` and ``skeleton`` may be given by name or by index.

    Args:
        data: The parsed file: a mapping with ``name``, ``keypoints``, ``flip_pairs``, ``skeleton``.
        source: Where the data came from, used in error messages.

    Raises:
        ValueError: Anything missing, unknown or inconsistent, with ``source`` and the field.
    """
    if not isinstance(data, Mapping):
        # A malformed file is a bad value for the caller, whatever its YAML type: ValueError throughout.
        raise ValueError(f"{source}: expected a mapping with name/keypoints/flip_pairs/skeleton")
    unknown = sorted(set(data) - _TOP_FIELDS)
    if unknown:
        raise ValueError(f"{source}: unknown fields {unknown}; allowed: {sorted(_TOP_FIELDS)}")
    for key in ("name", "keypoints"):
        if key not in data:
            raise ValueError(f"{source}: missing field {key!r}")
    entries = data["keypoints"]
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{source}: 'keypoints' must be a non-empty list")
    names, colors, sigmas, weights, upper, lower = [], [], [], [], [], []
    for i, entry in enumerate(entries):
        where = f"{source}: keypoints[{i}]"
        if not isinstance(entry, Mapping) or "name" not in entry:
            raise ValueError(f"{where}: expected a mapping with at least 'name'")
        extra = sorted(set(entry) - _KEYPOINT_FIELDS)
        if extra:
            raise ValueError(f"{where}: unknown fields {extra}; allowed: {sorted(_KEYPOINT_FIELDS)}")
        names.append(str(entry["name"]))
        colors.append(entry.get("color", (255, 255, 255)))
        sigmas.append(_number(entry.get("sigma", 0.05), f"{where}.sigma"))
        weights.append(_number(entry.get("weight", 1.0), f"{where}.weight"))
        half = entry.get("half")
        if half is not None and half not in _HALVES:
            raise ValueError(f"{where}.half must be one of {list(_HALVES)}, got {half!r}")
        (upper if half == "upper" else lower if half == "lower" else []).append(i)

    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:  # checked before resolving names, which would otherwise pick the first silently
        raise ValueError(f"{source}: duplicate keypoint names {dupes}")

    def index(ref: Any, where: str) -> int:
        if isinstance(ref, int) and not isinstance(ref, bool):
            return ref
        if isinstance(ref, str) and ref in names:
            return names.index(ref)
        raise ValueError(f"{where}: unknown keypoint {ref!r}; known: {names}")

    flip_pairs = [
        tuple(index(r, f"{source}: flip_pairs[{i}]") for r in _pair(p, f"{source}: flip_pairs[{i}]"))
        for i, p in enumerate(data.get("flip_pairs") or [])
    ]
    skeleton, link_colors = [], []
    for i, link in enumerate(data.get("skeleton") or []):
        where = f"{source}: skeleton[{i}]"
        pair, color = (
            (link.get("link"), link.get("color", (0, 255, 0))) if isinstance(link, Mapping) else (link, (0, 255, 0))
        )
        skeleton.append(tuple(index(r, where) for r in _pair(pair, where)))
        link_colors.append(color)
    try:
        return KeypointLayout(
            name=str(data["name"]),
            keypoint_names=tuple(names),
            skeleton=tuple(skeleton),
            keypoint_colors=tuple(colors),
            link_colors=tuple(link_colors),
            flip_pairs=tuple(flip_pairs),
            sigmas=tuple(sigmas),
            joint_weights=tuple(weights),
            upper_body_ids=tuple(upper),
            lower_body_ids=tuple(lower),
        )
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from None


def _pair(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f"{where}: expected a pair of two keypoints, got {value!r}")
    return list(value)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where} must be a number, got {value!r}")
    return float(value)
