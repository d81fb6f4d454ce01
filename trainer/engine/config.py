"""Training configs: YAML files, ``--set key.path=value`` overrides, and where paths are relative to."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

__all__ = ["CONFIG_DIR_KEY", "apply_overrides", "check_keys", "config_base_dir", "config_changes", "load_config"]

# Bookkeeping key added at load time: the folder relative data paths are resolved against.
# It travels inside checkpoints, so `flowpose export CHECKPOINT` finds the same files.
CONFIG_DIR_KEY = "_config_dir"


def load_config(path: str | Path, overrides: list[str] | None = None) -> dict[str, Any]:
    """Read a training config and apply ``overrides`` (``train.epochs=3``, YAML-typed values).

    Raises:
        FileNotFoundError: If the file is missing.
        ValueError: On invalid YAML, a non-mapping file, or a malformed override.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"training config not found: {path}")
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path}: a training config must be a mapping (task, data, model, train...)")
    apply_overrides(config, overrides or [])
    config[CONFIG_DIR_KEY] = str(path.resolve().parent)
    return config


def apply_overrides(config: dict[str, Any], overrides: list[str]) -> None:
    """Set dotted keys in place: ``["train.epochs=3", "data.train.num_samples=64"]``."""
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ValueError(f"override {item!r} must look like section.key=value")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = text
        node = config
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"override {item!r}: {part!r} is not a section")
            node = child
        node[parts[-1]] = value


def config_base_dir(config: dict[str, Any]) -> Path:
    """Folder that relative paths in ``config`` are relative to (the config file's)."""
    return Path(config.get(CONFIG_DIR_KEY) or ".")


def check_keys(section: Mapping[str, Any], known: Iterable[str] | type, where: str) -> None:
    """Refuse keys a config section does not know, naming them and the known ones.

    Args:
        section: The mapping as written in the config.
        known: The keys it may have, or a settings dataclass whose field names they are.
        where: How the message names the section, e.g. ``"'train'"`` or ``"data.pipeline"``.

    Raises:
        ValueError: ``unknown key(s) [...] in WHERE; known: [...]``.
    """
    known = {f.name for f in dataclasses.fields(known)} if isinstance(known, type) else set(known)
    unknown = sorted(set(section) - known)
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in {where}; known: {sorted(known)}")


def config_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """Dotted keys whose value differs between two configs, with ``(key, old, new)``.

    A key present on one side only reads as ``None`` on the other. The bookkeeping key
    :data:`CONFIG_DIR_KEY` is left out: running the same config from another folder is no change.
    """
    changes: list[tuple[str, Any, Any]] = []

    def walk(a: Any, b: Any, prefix: str) -> None:
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            for key in list(a) + [k for k in b if k not in a]:
                if not prefix and key == CONFIG_DIR_KEY:
                    continue
                walk(a.get(key), b.get(key), f"{prefix}{key}" if not prefix else f"{prefix}.{key}")
        elif a != b:
            changes.append((prefix, a, b))

    walk(old, new, "")
    return changes
