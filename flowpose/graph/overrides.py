"""``--set node.param=value`` command-line overrides, typed by the node's param schema."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError


@dataclass(frozen=True)
class Override:
    """One ``--set`` item.

    Attributes:
        node: Node name.
        param: Parameter name (the top-level field of the node's params).
        raw: The value as typed on the command line.
    """

    node: str
    param: str
    raw: str

    @property
    def text(self) -> str:
        """The override as the user typed it."""
        return f"{self.node}.{self.param}={self.raw}"


def parse_override(text: str) -> Override:
    """Parse ``node.param=value``.

    Raises:
        ValueError: When the text is not of that form.
    """
    target, sep, raw = text.partition("=")
    node, dot, param = target.strip().partition(".")
    if not sep or not dot or not node or not param:
        raise ValueError(f"--set {text!r}: expected NODE.PARAM=VALUE, e.g. --set camera.fps=15")
    return Override(node, param.strip(), raw.strip())


def coerce(params_model: type[BaseModel], param: str, raw: str) -> Any:
    """Turn the command-line text ``raw`` into a value of ``param``'s declared type.

    The text is read as YAML first (so ``3``, ``true``, ``[a, b]`` and ``{k: v}`` work) and
    checked against the field's type; when that does not fit, the plain string is tried
    (so ``--set camera.source=0`` still gives the string "0" to a ``str`` field). When
    neither fits, the YAML value is returned and full validation reports the error.
    """
    try:
        parsed = yaml.safe_load(raw) if raw else raw
    except yaml.YAMLError:
        parsed = raw
    field = params_model.model_fields.get(param)
    if field is None:
        return parsed
    adapter: TypeAdapter[Any] = TypeAdapter(field.annotation)
    for candidate in (parsed, raw):
        try:
            adapter.validate_python(candidate)
            return candidate
        except ValidationError:
            continue
    return parsed
