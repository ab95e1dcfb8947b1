"""Typed configuration: frozen dataclasses filled from YAML and ``--set``, dumped resolved.

The one loader and dumper of every configuration in the project (``mplt track``'s
:class:`mplt.config.TrackConfig`, each re-ID method's config in :mod:`reid.config`):

* :func:`load_config` -- defaults, then a YAML file, then ``section.key=value`` overrides,
  every value checked against the field's annotated type (an unknown key or a wrong type is a
  :class:`~core.errors.UserError` naming the key and the valid ones).
* :func:`config_from_dict` / :func:`config_to_dict` / :func:`dump_config` -- the same tree as
  plain data (checkpoints, ``config.yaml``).
* :func:`updated` -- a copy with some dotted keys changed, checked like a loaded file.

Config classes are frozen dataclasses whose fields are ``bool``, ``int``, ``float``, ``str``,
``Literal`` choices, unions and optional ones of those, or nested config dataclasses: a
configuration is never changed after it is loaded; code that needs another one builds it with
:func:`updated`.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from core.errors import UserError

T = TypeVar("T")

#: What to do about a value of the wrong type (the end of every such message).
_FIX = "fix it in the config file or with --set"


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _describe(tp: Any) -> str:
    """A field type as a user reads it: ``float``, ``'auto'``, ``null``."""
    if typing.get_origin(tp) is typing.Literal:
        return " or ".join(repr(a) for a in typing.get_args(tp))
    return "null" if tp is type(None) else _type_name(tp)


def _coerce(value: Any, tp: Any, where: str, strict: bool) -> Any:
    """Check/convert a YAML value to the annotated field type, or raise UserError."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        if float in args and isinstance(value, float) and not math.isfinite(value):
            raise UserError(f"config {where} must be a finite number, got {value!r}; {_FIX}")
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where, strict)
            except UserError:
                continue
        kinds = [_describe(a) for a in args]
        choices = ", ".join(kinds[:-1]) + f" or {kinds[-1]}" if len(kinds) > 1 else kinds[0]
        raise UserError(f"config {where} must be {choices}, got {value!r}; {_FIX}")
    if origin is typing.Literal:
        if value in typing.get_args(tp):
            return value
        raise UserError(f"config {where} must be {_describe(tp)}, got {value!r}; {_FIX}")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise UserError(f"config {where} must be a mapping of keys, got {value!r}; {_FIX}")
        return _from_dict(tp, value, where, strict)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise UserError(f"config {where} must be a finite number, got {value!r}; {_FIX}")
            return float(value)
    elif tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    raise UserError(f"config {where} must be {_describe_kind(tp)}, got {value!r}; {_FIX}")


def _describe_kind(tp: Any) -> str:
    """``an integer``, ``a number``... for a message."""
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    return names.get(tp, _type_name(tp))


def _from_dict(cls: type[T], data: Mapping[str, Any], where: str, strict: bool) -> T:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    # keys as text: YAML also makes numbers and null keys, which do not sort with strings
    unknown = sorted(str(k) for k in set(data) - names)
    if unknown and strict:
        prefix = f"{where}." if where else ""
        raise UserError(
            f"unknown config key {prefix}{unknown[0]}; valid keys here: {', '.join(sorted(names))}"
        )
    defaults = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs = {}
    for key, value in data.items():
        if key not in names:
            continue
        # A section given in part keeps the rest of ITS default (a method's own data section,
        # say), not the defaults of the section's class.
        default = _field_default(defaults[key])
        if dataclasses.is_dataclass(default) and isinstance(value, Mapping):
            value = _overlay(dataclasses.asdict(default), value)
        kwargs[key] = _coerce(value, hints[key], f"{where}.{key}" if where else key, strict)
    return cls(**kwargs)


def _field_default(f: dataclasses.Field) -> Any:
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return None if f.default is dataclasses.MISSING else f.default


def _overlay(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` written over it, nested mappings merged key by key."""
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _overlay(out[key], value)
        else:
            out[key] = value
    return out


def config_from_dict(cls: type[T], data: Mapping[str, Any], *, strict: bool = True) -> T:
    """A config of class ``cls`` from nested plain data; missing keys take the defaults.

    Args:
        cls: a config dataclass.
        data: nested mappings of field values (e.g. :func:`config_to_dict`'s output).
        strict: an unknown key is an error; with False it is dropped, so that a checkpoint
            written before a field was removed still loads.

    Raises:
        UserError: an unknown key (strict) or a value of the wrong type, named with its path.
    """
    return _from_dict(cls, data, "", strict)


def _parse_scalar(text: str) -> Any:
    """A ``--set`` value as YAML would read it (``null``, numbers, booleans, strings)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.strip().split(".")
    node = data
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise UserError(f"--set {dotted}: {key} is not a config section; set one of its keys")
    node[keys[-1]] = value


def apply_override(data: dict[str, Any], assignment: str) -> None:
    """Apply ``section.key=value`` (the value parsed as YAML) to nested plain data in place."""
    if "=" not in assignment:
        raise UserError(
            f"--set expects key=value, got {assignment!r}; write it like --set tracker.n_init=5"
        )
    dotted, raw = assignment.split("=", 1)
    _set_dotted(data, dotted, _parse_scalar(raw))


def read_yaml_mapping(path: str | Path, what: str = "config file") -> dict[str, Any]:
    """The mapping stored in a YAML file ({} for an empty file).

    Raises:
        UserError: the file is missing, unreadable, not YAML or not a mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what} {path} does not exist; pass an existing YAML file")
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise UserError(
            f"{what} {path} is not a text (UTF-8) file; pass a YAML file such as configs/track.yaml"
        ) from None
    except OSError as exc:
        raise UserError(f"cannot read {what} {path} ({exc.strerror}); check the path") from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        at = f" at line {line + 1}" if line is not None else ""
        raise UserError(f"{what} {path} is not valid YAML{at}; fix its syntax") from None
    if loaded is not None and not isinstance(loaded, dict):
        raise UserError(
            f"{what} {path} must hold a mapping of sections (section: {{key: value}}); "
            "start from the defaults in configs/"
        )
    return loaded or {}


def load_config(cls: type[T], path: str | Path | None = None, overrides: Iterable[str] = ()) -> T:
    """Defaults, then the YAML file (if any), then ``--set`` overrides; validated and typed."""
    data = read_yaml_mapping(path) if path is not None else {}
    for assignment in overrides:
        apply_override(data, assignment)
    return config_from_dict(cls, data)


def updated(config: T, changes: Mapping[str, Any]) -> T:
    """A copy of ``config`` with dotted keys changed, e.g. ``{"train.epochs": 3}``.

    Values are Python values (not YAML text; a whole section may be given as its config
    object) and are checked like those of a loaded file.
    """
    data = config_to_dict(config)
    for dotted, value in changes.items():
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = dataclasses.asdict(value)
        _set_dotted(data, dotted, value)
    return config_from_dict(type(config), data)


def config_to_dict(config: Any) -> dict[str, Any]:
    """Plain nested dict of a config dataclass."""
    return dataclasses.asdict(config)


def dump_config(config: Any) -> str:
    """The resolved configuration as YAML text (sections in declaration order)."""
    return yaml.safe_dump(config_to_dict(config), sort_keys=False)


def kwargs_of(section: Any, *, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """A config section as constructor keyword arguments."""
    return {k: v for k, v in dataclasses.asdict(section).items() if k not in exclude}
