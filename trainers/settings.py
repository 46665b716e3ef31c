"""Settings from the command line: presets, YAML files and ``--set key=value`` overrides.

``resolve_config`` builds the ``TrainConfig`` of ``train``, ``truth`` and ``sweep`` from a
preset (``trainers.presets``, either economy family) or a YAML file; ``settings_table`` lists
every key of a run for ``python -m trainers config --list``. Bad keys, values, presets or
files raise one ``ValueError`` naming the key or file and what is allowed, before any work.

A YAML file given as ``--config`` (or ``--economy``) is one of two kinds, never a silent mix
with the class defaults:

- it extends a preset: a top-level ``base: cpu_small`` names the preset, and the rest of the
  file is a nested partial override of it (``firm: {lr: 5e-4}``);
- it is complete: every field at every level is present, as ``TrainConfig.dump`` writes it
  (``configs/*.yaml``, a run folder's ``config.yaml``).

Values are read by ``rbc_env.config.load_yaml``, so ``5e-4`` and ``1e3`` are numbers both in
files and in ``--set firm.lr=5e-4``.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

from rbc_env.config import Params, load_yaml, read_yaml, section_class
from rbc_env.tables import markdown_table
from trainers.config import TrainConfig
from trainers.presets import preset

__all__ = [
    "BASE_KEY",
    "load_settings_file",
    "resolve_config",
    "settings_table",
]

BASE_KEY = "base"  # top-level key of a YAML file that extends a preset
YAML_SUFFIXES = (".yaml", ".yml")

P = TypeVar("P", bound=Params)


def resolve_config(
    config: str,
    sets: list[str],
    *,
    seconds: float | None = None,
    iterations: int | None = None,
    option: str = "--config",
) -> TrainConfig:
    """The ``TrainConfig`` named by ``--config`` with the ``--set`` and budget overrides applied.

    Args:
        config: a preset name (``trainers.presets.preset``) or a YAML file (``.yaml``/``.yml``).
        sets: ``KEY=VALUE`` items; KEY is a dotted path, VALUE is parsed as YAML.
        seconds: ``--seconds``, the training time budget (``max_seconds``), if given.
        iterations: ``--iterations``, if given.
        option: the command-line option that named ``config``, for messages.

    Raises:
        ValueError: for an unknown preset, a bad file, a malformed ``--set`` or a bad field.
    """
    if config.endswith(YAML_SUFFIXES):
        base = load_settings_file(config, TrainConfig, preset, option=option)
    else:
        try:
            base = preset(config)
        except ValueError as err:
            raise ValueError(f"{option}: {err}; or give a .yaml file") from None
    config_ = _apply_sets(base, sets)
    budget: dict[str, Any] = {}
    if seconds is not None:
        budget["max_seconds"] = seconds
    if iterations is not None:
        budget["iterations"] = iterations
    labels = {"max_seconds": f"--seconds {seconds}", "iterations": f"--iterations {iterations}"}
    return _override(config_, budget, lambda keys: ", ".join(labels[k] for k in keys))


def load_settings_file(
    path: str | Path, cls: type[P], preset: Callable[[str], P], *, option: str
) -> P:
    """Load a settings YAML file that extends a preset (``base: NAME``) or is complete.

    Args:
        path: the YAML file.
        cls: the config class (``TrainConfig``).
        preset: returns the named preset, raising ``ValueError`` for an unknown name.
        option: the command-line option that named the file, for messages.

    Returns:
        The preset with the file's nested overrides applied, or the complete file's config.

    Raises:
        ValueError: one line naming the file and the problem: missing, a directory,
            unreadable, malformed YAML (with line and column), empty, not a mapping, an
            unknown key (dotted, with the keys allowed there), a missing key of a file without
            ``base`` (listing the missing dotted keys), an unknown ``base`` or a bad value.
    """
    where = f"{option} {path}"
    try:
        data = read_yaml(path)
    except ValueError as err:
        raise ValueError(f"{option} {err}") from None
    hint = (
        f"give every {cls.__name__} field, or extend a preset with a top-level "
        f"'{BASE_KEY}: <preset>' line; `python -m trainers config --list` lists the keys"
    )
    if data is None:
        raise ValueError(f"{where}: the file is empty; {hint}")
    if not isinstance(data, dict):
        raise ValueError(
            f"{where}: the top level must be a mapping of settings; got a {type(data).__name__}"
        )
    data = dict(data)
    extends = BASE_KEY in data
    name = data.pop(BASE_KEY, None)
    try:
        cls.check_keys(data)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    if extends:
        if not isinstance(name, str):
            raise ValueError(f"{where}: {BASE_KEY} must name a preset; got {name!r}")
        try:
            base = preset(name)
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
        updates = _flatten(cls, data)
        return _override(base, updates, lambda keys: f"{where}: key {', '.join(keys)}")
    try:
        cls.check_keys(data, complete=True)
    except ValueError as err:
        raise ValueError(f"{where}: {err}; {hint}") from None
    try:
        return cls.from_dict(data)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None


def settings_table(config: Params) -> str:
    """Every key of ``config`` as a Markdown table: type, allowed range, unit, symbol, value.

    Args:
        config: the settings to list (their values fill the ``value`` column).

    Returns:
        One row per dotted key (``firm.lr``), in declaration order.
    """
    rows = []
    for key, f, hint, value in type(config).leaves(config):
        meta = f.metadata
        cells = (
            key,
            _type_text(hint),
            _range_text(hint, meta.get("range")),
            meta.get("unit", ""),
            meta.get("symbol", ""),
            _value_text(value),
            meta.get("doc", ""),
        )
        rows.append([str(c).replace("|", "\\|") for c in cells])
    header = ["key", "type", "range", "unit", "symbol", "value", "meaning"]
    return markdown_table(header, rows)


# ---- helpers ---------------------------------------------------------------------------------
def _apply_sets(base: P, sets: list[str]) -> P:
    """``base`` with the ``--set KEY=VALUE`` items applied; errors name the item."""
    updates = parse_sets(sets)
    items = {item.partition("=")[0].strip(): item for item in sets}  # a later KEY wins
    return _override(base, updates, lambda keys: "--set " + ", ".join(items[k] for k in keys))


def parse_sets(sets: list[str]) -> dict[str, Any]:
    """``--set KEY=VALUE`` items as ``{key: value parsed as YAML}``; a later KEY wins.

    Raises:
        ValueError: for an item without ``=`` or key, or a value that is not valid YAML.
    """
    return dict(_parse_set(item) for item in sets)


def _parse_set(item: str) -> tuple[str, Any]:
    """One ``KEY=VALUE`` item as ``(key, value parsed as YAML)``; ``ValueError`` naming it."""
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValueError(f"--set expects key=value (e.g. firm.lr=5e-4); got {item!r}")
    try:
        return key, load_yaml(raw)
    except yaml.YAMLError as err:
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ValueError(f"--set {item}: the value is not valid YAML ({problem})") from None


def _flatten(cls: type[Params], data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested overrides as dotted keys; a mapping for a section is descended into."""
    hints = typing.get_type_hints(cls)
    out: dict[str, Any] = {}
    for key, value in data.items():
        section = section_class(hints[key], value) if isinstance(value, dict) else None
        if section is not None:
            out |= _flatten(section, value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def _override(base: P, updates: dict[str, Any], label: Callable[[list[str]], str]) -> P:
    """``base.override(updates)``; a ``ValueError`` is prefixed by the label of its keys.

    The keys named are those whose update alone fails; when none does (a conflict between
    updates), all of them.
    """
    if not updates:
        return base
    try:
        return base.override(updates)
    except ValueError as err:
        culprits = [k for k in updates if _fails(base, k, updates[k])] or list(updates)
        raise ValueError(f"{label(culprits)}: {err}") from None


def _fails(base: Params, key: str, value: Any) -> bool:
    """Whether overriding ``key`` alone raises ``ValueError``."""
    try:
        base.override({key: value})
    except ValueError:
        return True
    return False


def _type_text(hint: Any) -> str:
    """A field's type as the table shows it: ``float``, ``bool``, ``str``, ``list[int]``..."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        return "str"
    if origin is tuple:
        return f"list[{typing.get_args(hint)[0].__name__}]"
    return getattr(hint, "__name__", str(hint))


def _range_text(hint: Any, range_: Any) -> str:
    """A field's allowed values: an interval, the choices of a ``Literal``, or ``true, false``."""
    if typing.get_origin(hint) is Literal:
        return ", ".join(str(c) for c in typing.get_args(hint))
    if hint is bool:
        return "true, false"
    if range_ is None:
        return ""
    return f"each in {range_}" if typing.get_origin(hint) is tuple else str(range_)


def _value_text(value: Any) -> str:
    """A value as it would be written after ``--set KEY=`` (YAML: ``true``, ``5e-05``, ``inf``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return ("-inf" if value < 0 else "inf") if math.isinf(value) else repr(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_value_text(v) for v in value) + "]"
    return str(value)
