"""Typed dataclass configs from YAML mappings: one loader for the assistant's config and the training recipes.

``from_mapping(cls, data, where)`` builds a dataclass from a mapping, recursing into
nested dataclasses and checking every value against its annotation (``int``, ``float``,
``bool``, ``str``, ``Path``, ``X | None``, ``list[X]``, ``dict[str, X]``, ``Literal``).
An unknown key or a value of the wrong type is an error that names the file and the
dotted key at fault. ``apply_overrides`` sets dotted keys from ``key=value`` strings
(values read as YAML), the way command-line overrides reach a recipe.
"""

from __future__ import annotations

import types
import typing
from dataclasses import MISSING, fields, is_dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints


class ConfigError(ValueError):
    """A config or recipe that cannot be loaded; the message names the file and key."""


def read_yaml(path: str | Path) -> dict[str, Any]:
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text("utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the file must hold a mapping of settings")
    return data


def from_mapping(cls, data: Any, where: str):
    """``cls(**data)`` with nested dataclasses built and every value type-checked."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of settings for {cls.__name__}, got {type(data).__name__}")
    known = {f.name: f for f in fields(cls) if f.init}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {unknown} for {cls.__name__}; known: {sorted(known)}")
    hints = get_type_hints(cls)
    kwargs = {name: _coerce(hints[name], value, f"{where}.{name}") for name, value in data.items()}
    missing = [n for n, f in known.items()
               if n not in kwargs and f.default is MISSING and f.default_factory is MISSING]
    if missing:
        raise ConfigError(f"{where}: missing required setting(s) {missing} for {cls.__name__}")
    return cls(**kwargs)


def _coerce(hint, value: Any, where: str):
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _coerce(option, value, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{where}: {value!r} fits none of {hint}")
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {list(args)}")
        return value
    if is_dataclass(hint):
        return value if isinstance(value, hint) else from_mapping(hint, value, where)
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return [_coerce(args[0] if args else Any, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:  # tuple[X, ...]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return tuple(_coerce(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        inner = args[1] if len(args) == 2 else Any
        return {k: _coerce(inner, v, f"{where}.{k}") for k, v in value.items()}
    if hint is Path:
        if not isinstance(value, (str, Path)):
            raise ConfigError(f"{where}: expected a path, got {value!r}")
        return Path(value)
    if hint is float:
        if isinstance(value, str):  # YAML 1.1 reads 5e-4 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                raise ConfigError(f"{where}: expected a number, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint in (bool, str):
        if not isinstance(value, hint):
            raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}")
        return value
    if isinstance(hint, type) and not isinstance(value, hint):
        raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}")
    return value


def apply_overrides(data: dict[str, Any], overrides: typing.Iterable[str], where: str = "override") -> dict[str, Any]:
    """A copy of ``data`` with each ``dotted.key=value`` set (the value read as YAML)."""
    import copy

    import yaml

    out = copy.deepcopy(data)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{where}: {item!r} is not KEY=VALUE (for example train.lr=1e-4)")
        node = out
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{where}: {key} goes inside a setting that is not a mapping")
        node[parts[-1]] = yaml.safe_load(raw) if raw.strip() else ""
    return out
