"""Configuration of the RBC economy: frozen, validated dataclasses.

Every number of the model lives here, once, next to its symbol, unit and allowed range
(``field(metadata=...)``). Validation, the docs' parameter tables and the hypothesis strategies in
the tests all read that metadata. Derived quantities (grids, scales, the initial firm budget) are
properties, never stored fields.

The defaults are the paper calibration (spec section 7, with the paper-vs-code conflicts resolved as
in spec section 13). ``RBCConfig.paper("open")`` and ``RBCConfig.paper("closed")`` return it.

YAML is only the serialization: ``RBCConfig.from_dict``, ``RBCConfig.to_dict``,
``RBCConfig.load``, ``RBCConfig.dump``; unknown keys raise ``ValueError``. YAML text is read by
``load_yaml``: PyYAML's YAML 1.1 rules plus numbers in scientific notation without a dot or an
exponent sign (``5e-4``, ``1e3``; YAML 1.1 reads them as strings) and ``inf``, and duplicate
keys are an error.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "dotted_overrides",
    "ConsumerParams",
    "Params",
    "param",
    "CurriculumParams",
    "FirmParams",
    "GovernmentParams",
    "GrowthConfig",
    "GrowthParams",
    "Interval",
    "MarketParams",
    "RBCConfig",
    "ReferenceParity",
    "load_yaml",
    "read_yaml",
]

INF = math.inf


@dataclass(frozen=True, slots=True)
class Interval:
    """A real interval with open or closed ends, used as a field's allowed range."""

    lo: float
    hi: float
    lo_closed: bool = True
    hi_closed: bool = False

    def __contains__(self, x: float) -> bool:
        above = x >= self.lo if self.lo_closed else x > self.lo
        below = x <= self.hi if self.hi_closed else x < self.hi
        return bool(above and below)

    def __str__(self) -> str:
        left = "[" if self.lo_closed and math.isfinite(self.lo) else "("
        right = "]" if self.hi_closed and math.isfinite(self.hi) else ")"
        return f"{left}{_num(self.lo)}, {_num(self.hi)}{right}"


def _num(x: float) -> str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:g}"


POSITIVE = Interval(0.0, INF, lo_closed=False)
NONNEGATIVE = Interval(0.0, INF)
UNIT_CLOSED = Interval(0.0, 1.0, hi_closed=True)
UNIT_OPEN = Interval(0.0, 1.0, lo_closed=False)
AT_LEAST_ONE = Interval(1, INF)
AT_LEAST_TWO = Interval(2, INF)


def param(
    default: Any, symbol: str, unit: str, range_: Interval | None, doc: str, **extra: Any
) -> Any:
    """A dataclass field with the metadata that validation and the docs read."""
    meta = {"symbol": symbol, "unit": unit, "range": range_, "doc": doc, **extra}
    return field(default=default, metadata=meta)


def _validate(obj: Any) -> None:
    """Check every field of a params dataclass against its metadata; raise ``ValueError``."""
    owner = type(obj).__name__
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        name = f"{owner}.{f.name}"
        hint = hints[f.name]
        classes = sections(hint)
        if classes:
            if not isinstance(value, classes):
                kinds = " or ".join(c.__name__ for c in classes)
                raise ValueError(f"{name} must be a {kinds}; got {value!r}")
            continue
        if typing.get_origin(hint) is Literal:
            choices = typing.get_args(hint)
            if value not in choices:
                raise ValueError(f"{name} must be one of {list(choices)}; got {value!r}")
            continue
        range_: Interval | None = f.metadata.get("range")
        if hint is bool:
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be a bool (true or false); got {value!r}")
        elif hint is int:
            _check_number(name, value, range_, integer=True)
        elif hint is float:
            _check_number(name, value, range_, integer=False)
        elif typing.get_origin(hint) is tuple:
            if not isinstance(value, tuple) or len(value) == 0:
                raise ValueError(f"{name} must be a non-empty tuple of numbers; got {value!r}")
            integer = typing.get_args(hint)[0] is int
            for i, item in enumerate(value):
                _check_number(f"{name}[{i}]", item, range_, integer=integer)


def sections(hint: Any) -> tuple[type, ...]:
    """The config classes a field's type hint names: ``(C,)``, the members of ``A | B``, or ()."""
    members = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    return tuple(m for m in members if dataclasses.is_dataclass(m))


def section_class(hint: Any, data: Mapping[str, Any]) -> Any:
    """The config class of a section that nested ``data`` is meant for.

    For a union (``RBCConfig | GrowthConfig``) the first member that has a field named by
    ``data`` which the others lack; the first member whose fields hold every key of ``data``
    when no key tells them apart (e.g. ``{}``, or only ``horizon``); ``None`` if none does.
    """
    classes = sections(hint)
    names = [{f.name for f in dataclasses.fields(c)} for c in classes]
    for i, own in enumerate(names):
        others = set().union(*(n for j, n in enumerate(names) if j != i))
        if set(data) <= own and set(data) & (own - others):
            return classes[i]
    return next((c for c, own in zip(classes, names, strict=True) if set(data) <= own), None)


def _check_number(name: str, value: Any, range_: Interval | None, *, integer: bool) -> None:
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be {kind} in {range_}; got {value!r}")
    if integer and not isinstance(value, int):
        raise ValueError(f"{name} must be {kind} in {range_}; got {value!r}")
    if math.isnan(value) or (range_ is not None and value not in range_):
        raise ValueError(f"{name} must be in {range_}; got {value!r}")


# ---- YAML --------------------------------------------------------------------------------------
# Scientific notation that YAML 1.1 leaves a string ("5e-4", "1e3", "1.5e3"), and infinity
# spelled as Python prints it; PyYAML's own int and float rules are tried first.
_SCIENTIFIC = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$")
_INFINITY = re.compile(r"^[-+]?(?:inf|infinity)$", re.IGNORECASE)
_NUMBER_TAG = "tag:rbc-marl:number"
_MAX_INT_EXPONENT = 18  # "1e18" is still read as an exact int


def _construct_number(loader: Any, node: Any) -> int | float:
    """A number in scientific notation: an int when the mantissa and exponent are whole."""
    text = str(loader.construct_scalar(node)).replace("_", "")
    mantissa, _, exponent = text.lower().partition("e")
    if exponent and "." not in mantissa and 0 <= int(exponent) <= _MAX_INT_EXPONENT:
        return int(mantissa) * 10 ** int(exponent)
    return float(text)


@functools.cache
def _loader() -> type:
    """The ``yaml.SafeLoader`` subclass of ``load_yaml`` (built once, on first use)."""
    import yaml

    class Loader(yaml.SafeLoader):
        """SafeLoader reading ``5e-4``, ``1e3`` and ``inf`` as numbers; duplicate keys raise."""

        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            seen: set[str] = set()
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                    continue
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping",
                        node.start_mark,
                        f"found duplicate key {key_node.value!r}",
                        key_node.start_mark,
                    )
                seen.add(key_node.value)
            return super().construct_mapping(node, deep=deep)

    Loader.add_implicit_resolver(_NUMBER_TAG, _SCIENTIFIC, list("-+0123456789."))
    Loader.add_implicit_resolver(_NUMBER_TAG, _INFINITY, list("-+iI"))
    Loader.add_constructor(_NUMBER_TAG, _construct_number)
    return Loader


def load_yaml(text: str) -> Any:
    """Parse YAML text; numbers like ``5e-4``, ``1e3`` and ``inf`` are numbers, not strings.

    PyYAML's ``safe_load`` follows YAML 1.1, where a float needs a dot and a signed exponent,
    so ``lr: 5e-4`` would be the string ``'5e-4'``. Here a plain scalar in scientific notation
    is a float, or an int when the mantissa has no dot and the exponent is 0-18 (``1e3`` is
    1000); ``inf``, ``+inf`` and ``-inf`` are floats. Quoted scalars stay strings.

    Args:
        text: YAML text.

    Returns:
        The parsed object (``None`` for empty text).

    Raises:
        yaml.YAMLError: for malformed YAML or a mapping with a duplicate key.
    """
    import yaml

    return yaml.load(text, Loader=_loader())  # noqa: S506 (a SafeLoader subclass)


def read_yaml(path: str | Path) -> Any:
    """Read and parse a YAML file with ``load_yaml``.

    Args:
        path: the file.

    Returns:
        The parsed object (``None`` for an empty file or one holding only comments).

    Raises:
        ValueError: naming the file and the problem when it is missing, a directory, unreadable,
            not UTF-8 or not valid YAML (with the line and column of the error).
    """
    import yaml

    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path}: no such file")
    if path.is_dir():
        raise ValueError(f"{path}: is a directory, not a YAML file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(
            f"{path}: not a UTF-8 text file ({err.reason} at byte {err.start})"
        ) from None
    except OSError as err:
        raise ValueError(f"{path}: cannot be read ({err.strerror or err})") from None
    try:
        return load_yaml(text)
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML: {_yaml_problem(err)}") from None


def _yaml_problem(err: Exception) -> str:
    """One line describing a ``yaml.YAMLError``: the problem and where (1-based line, column)."""
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    context = getattr(err, "context", None)
    text = f"{context}, {problem}" if context else str(problem)
    if mark is not None:
        text += f" (line {mark.line + 1}, column {mark.column + 1})"
    return text


class Params:
    """Base of the config dataclasses: validation from field metadata, dict/YAML round trips.

    Subclasses are ``@dataclass(frozen=True, kw_only=True, slots=True)`` whose fields are made
    with ``param(default, symbol, unit, range, doc)``; cross-field checks go in ``_check``.
    """

    __slots__ = ()

    def __post_init__(self) -> None:
        _validate(self)
        self._check()

    def _check(self) -> None:
        """Cross-field checks; overridden where a class has any."""

    def to_dict(self) -> dict[str, Any]:
        """Return the config as nested plain dicts (tuples become lists), ready for YAML."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, Params):
                value = value.to_dict()
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        """Build from nested dicts; unknown keys raise ``ValueError`` naming the key."""
        if not isinstance(data, dict):
            raise ValueError(f"{cls.__name__} must be built from a mapping; got {data!r}")
        hints = typing.get_type_hints(cls)
        names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key not in names:
                raise ValueError(f"{cls.__name__} has no field {key!r}; allowed: {names}")
            hint = hints[key]
            if sections(hint) and isinstance(value, dict):
                section = section_class(hint, value) or sections(hint)[0]
                value = section.from_dict(value)
            elif typing.get_origin(hint) is tuple and isinstance(value, list):
                value = tuple(value)
            elif hint is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            kwargs[key] = value
        return cls(**kwargs)

    def replace(self, **changes: Any) -> Any:
        """``dataclasses.replace``, validated again."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    def override(self, updates: dict[str, Any]) -> Any:
        """Return a copy with dotted-path updates, e.g. ``{"firm.tfp": 0.02, "n_firms": 3}``.

        A mapping given for a section (``{"firm": {"tfp": 0.02}}``) updates only the fields it
        names; the section's other fields keep their values.

        Raises:
            ValueError: if a path names no field, or a value is out of range.
        """
        data = self.to_dict()
        for path, value in updates.items():
            node = data
            parts = path.split(".")
            for i, part in enumerate(parts):
                if not isinstance(node, dict) or part not in node:
                    where = ".".join(parts[:i]) or type(self).__name__
                    allowed = sorted(node) if isinstance(node, dict) else []
                    raise ValueError(f"{where} has no field {part!r}; allowed: {allowed}")
                if i < len(parts) - 1:
                    node = node[part]
                elif isinstance(node[part], dict) and isinstance(value, dict):
                    node[part] = _merged(node[part], value, path)
                else:
                    node[part] = value
        return type(self).from_dict(data)

    @classmethod
    def check_keys(cls, data: dict[str, Any], *, complete: bool = False) -> None:
        """Check the keys of nested dicts meant for ``from_dict``, at every level.

        Args:
            data: nested dicts as ``to_dict`` returns them.
            complete: also require every field at every level (as ``dump`` writes them).

        Raises:
            ValueError: naming the first unknown key by its dotted path and the keys allowed
                there, or (with ``complete``) listing the missing dotted keys.
        """
        missing: list[str] = []
        _walk_keys(cls, data, "", missing)
        optional = cls.optional_fields(data)
        missing = [k for k in missing if k.partition(".")[0] not in optional]
        if complete and missing:
            shown = ", ".join(missing[:_MAX_LISTED])
            more = f" and {len(missing) - _MAX_LISTED} more" if len(missing) > _MAX_LISTED else ""
            raise ValueError(f"missing {len(missing)} key(s): {shown}{more}")

    @classmethod
    def optional_fields(cls, data: Mapping[str, Any]) -> frozenset[str]:
        """Top-level fields that a complete mapping like ``data`` may leave out (none here).

        A class whose fields depend on another field's kind (``TrainConfig``: the economy's
        family) names those that do not apply, which ``to_dict`` leaves out too.
        """
        return frozenset()

    @classmethod
    def leaves(cls, config: Params | None = None) -> list[tuple[str, dataclasses.Field, Any, Any]]:
        """Every setting at every level, in declaration order.

        Args:
            config: whose values to report; the class defaults when ``None``.

        Returns:
            ``(dotted key, field, type hint, value)`` per leaf field (not per section, nor
            the fields ``optional_fields`` says do not apply); the field's ``metadata`` holds
            its symbol, unit, range and doc.
        """
        config = cls() if config is None else config
        out: list[tuple[str, dataclasses.Field, Any, Any]] = []
        hints = typing.get_type_hints(type(config))
        skip = type(config).optional_fields(config.to_dict())
        for f in dataclasses.fields(config):  # type: ignore[arg-type]
            if f.name in skip:
                continue
            value = getattr(config, f.name)
            if isinstance(value, Params):
                out += [(f"{f.name}.{k}", *rest) for k, *rest in type(value).leaves(value)]
            else:
                out.append((f.name, f, hints[f.name], value))
        return out

    @classmethod
    def load(cls, path: str | Path, *, complete: bool = False) -> Any:
        """Read a YAML file written by ``dump`` (or by hand).

        Args:
            path: the YAML file.
            complete: require every field at every level; otherwise missing fields take their
                class defaults.

        Raises:
            ValueError: naming the file, for a missing, unreadable, malformed or empty file, a
                top level that is not a mapping, an unknown key (or a missing one with
                ``complete``), or a bad value.
        """
        data = read_yaml(path)
        if data is None:
            raise ValueError(f"{path}: the file is empty")
        if not isinstance(data, dict):
            raise ValueError(
                f"{path}: the top level must be a mapping of {cls.__name__} keys; got a "
                f"{type(data).__name__}"
            )
        try:
            cls.check_keys(data, complete=complete)
            return cls.from_dict(data)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None

    def dump(self, path: str | Path) -> None:
        """Write the config as YAML."""
        import yaml

        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False), encoding="utf-8")


_MAX_LISTED = 12  # missing keys named in one error message


def _merged(old: dict[str, Any], new: dict[str, Any], path: str) -> dict[str, Any]:
    """``old`` updated by the nested mapping ``new``; a key ``old`` lacks raises ``ValueError``."""
    out = dict(old)
    for key, value in new.items():
        if key not in out:
            raise ValueError(f"{path} has no field {key!r}; allowed: {sorted(out)}")
        if isinstance(out[key], dict) and isinstance(value, dict):
            out[key] = _merged(out[key], value, f"{path}.{key}")
        else:
            out[key] = value
    return out


def _walk_keys(cls: Any, data: dict[str, Any], prefix: str, missing: list[str]) -> None:
    """Raise ``ValueError`` on the first unknown key of ``data``; append missing dotted keys."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in names:
            where = f" under {prefix[:-1]!r}" if prefix else ""
            raise ValueError(
                f"unknown key {prefix}{key} ({cls.__name__} has no field {key!r}); "
                f"allowed{where}: {', '.join(names)}"
            )
    for name in names:
        classes = sections(hints[name])
        if name not in data:
            if classes:
                missing += [f"{prefix}{name}.{k}" for k, *_ in classes[0].leaves()]
            else:
                missing.append(f"{prefix}{name}")
        elif classes and isinstance(data[name], dict):
            # No member has all the keys: the closest one names the first unknown key.
            section = section_class(hints[name], data[name]) or max(
                classes,
                key=lambda c: len(set(data[name]) & {f.name for f in dataclasses.fields(c)}),
            )
            _walk_keys(section, data[name], f"{prefix}{name}.", missing)


@dataclass(frozen=True, kw_only=True, slots=True)
class ConsumerParams(Params):
    """Consumer-workers: preferences, endowment and action grids (spec sections 3.2, 4.1, 6.1)."""

    initial_budget: float = param(2000.0, "m_0", "money", POSITIVE, "cash at t = 0")
    theta_base: float = param(0.01, "θ̄", "utility / hour", POSITIVE, "labour-disutility scale")
    theta_pareto_shape: float = param(
        4.0, "b", "1", POSITIVE, "Pareto shape: θ̄_j = θ̄ (1 - j/C)^(1/b)"
    )
    crra_eta: float = param(0.1, "η", "1", Interval(0.0, 1.0), "CRRA curvature of goods utility")
    labor_exponent: float = param(
        1.0, "κ", "1", POSITIVE, "disutility (θ_j/2) n_j^κ; the paper's is linear (κ = 1)"
    )
    units_step: float = param(1.0, "Δc", "goods", POSITIVE, "units per consumption-grid index")
    n_units: int = param(11, "", "count", AT_LEAST_TWO, "consumption grid size per good")
    hours_step: float = param(260.0, "Δn", "hours", POSITIVE, "hours per hours-grid index")
    n_hours: int = param(5, "", "count", AT_LEAST_TWO, "hours grid size")


@dataclass(frozen=True, kw_only=True, slots=True)
class FirmParams(Params):
    """Firms: technology, endowments and price/wage grids (spec sections 3.2, 4.2, 5.2 G)."""

    initial_budget_per_consumer: float = param(
        22000.0, "M_0 / C", "money", POSITIVE, "firm cash at t = 0 per consumer"
    )
    initial_capital_low: float = param(
        5000.0, "K_low", "goods", NONNEGATIVE, "capital of firms j < F/2 at t = 0"
    )
    initial_capital_high: float = param(
        10000.0, "K_high", "goods", POSITIVE, "capital of firms j >= F/2 at t = 0"
    )
    alpha_pattern: tuple[float, ...] = param(
        (0.2, 0.3, 0.4, 0.6, 0.8), "α", "1", UNIT_OPEN, "labour exponents, tiled over firms"
    )
    tfp: float = param(0.01, "A", "goods / (goods^(1-α) hours^α)", POSITIVE, "technology")
    investment_fraction: float = param(
        0.1, "φ", "1", UNIT_CLOSED, "share of positive operating income invested"
    )
    labor_floor: float = param(0.0, "L_min", "hours", NONNEGATIVE, "labour below this produces 0")
    price_step: float = param(500.0, "Δp", "money / good", POSITIVE, "price-grid step")
    n_prices: int = param(6, "", "count", AT_LEAST_TWO, "price grid size")
    wage_step: float = param(11.0, "Δw", "money / hour", POSITIVE, "wage-grid step")
    n_wages: int = param(5, "", "count", AT_LEAST_TWO, "wage grid size")
    initial_price: float = param(1000.0, "p_0", "money / good", NONNEGATIVE, "price at t = 0")
    initial_wage: float = param(0.0, "w_0", "money / hour", NONNEGATIVE, "wage at t = 0")


@dataclass(frozen=True, kw_only=True, slots=True)
class GovernmentParams(Params):
    """Government: tax grids and objective (spec sections 4.3, 6.3)."""

    tax_step: float = param(0.2, "Δτ", "1", UNIT_OPEN, "tax-grid step (both taxes)")
    n_tax_levels: int = param(6, "", "count", AT_LEAST_TWO, "tax grid size (both taxes)")
    firm_welfare_weight: float = param(
        0.0025, "λ_f", "1", NONNEGATIVE, "weight of firm rewards in social welfare"
    )
    initial_income_tax: float = param(0.0, "τ_0", "1", UNIT_CLOSED, "income tax at t = 0")
    initial_corporate_tax: float = param(0.0, "σ_0", "1", UNIT_CLOSED, "corporate tax at t = 0")

    def _check(self) -> None:
        top = self.tax_step * (self.n_tax_levels - 1)
        if top > 1.0 + 1e-9:
            raise ValueError(
                "GovernmentParams.tax_step * (n_tax_levels - 1) (the top tax rate) must be in "
                f"[0, 1]; got {top:g}"
            )


@dataclass(frozen=True, kw_only=True, slots=True)
class MarketParams(Params):
    """Export market and interest (spec sections 5.2 F and J, 8)."""

    export_min_price: float = param(
        500.0, "p_x", "money / good", NONNEGATIVE, "exports happen iff p_j >= p_x (open variant)"
    )
    export_quota: float = param(100.0, "q_x", "goods / period", NONNEGATIVE, "export cap per firm")
    interest_rate: float = param(0.0, "r", "1 / period", NONNEGATIVE, "interest on positive cash")


@dataclass(frozen=True, kw_only=True, slots=True)
class CurriculumParams(Params):
    """Schedules of spec section 9.4 that the economy itself needs: masks and θ annealing."""

    mask_anneal_iters: int = param(
        30000, "T_a", "iterations", AT_LEAST_ONE, "iterations for masks to open fully"
    )
    firm_mask_price_center: float = param(
        1000.0, "p_c", "money / good", NONNEGATIVE, "the only price allowed at iteration 0"
    )
    firm_mask_wage_center: float = param(
        22.0, "w_c", "money / hour", NONNEGATIVE, "the only wage allowed at iteration 0"
    )
    tax_mask_start: int = param(
        30000, "e_τ", "iterations", NONNEGATIVE, "iteration at which the tax mask starts opening"
    )
    theta_decay_iters: float = param(
        10000.0, "τ_θ", "iterations", POSITIVE, "θ factor f(e) = 1 - exp(-e / τ_θ)"
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class ReferenceParity(Params):
    """Switches that reproduce the reference code's quirks (spec section 13; docs/model.md)."""

    obs_encoding: Literal["scaled", "digits"] = param(
        "scaled", "", "", None, "'digits': the reference's sawtooth expansion (spec 3.3)"
    )
    n_digits: int = param(10, "D", "count", AT_LEAST_ONE, "sub-features per expanded value")
    budget_epsilon: float = param(
        0.01, "ε_B", "money / period", NONNEGATIVE, "cash added to every consumer each step"
    )
    sampling: Literal["independent", "fixed_quantile"] = param(
        "independent", "", "", None, "firm/government sampling (used by trainers)"
    )
    returns: Literal["discounted", "reference"] = param(
        "discounted", "", "", None, "return formula (used by trainers)"
    )
    value_loss: Literal["standard", "reference"] = param(
        "standard", "", "", None, "value-loss clipping form (used by trainers)"
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class RBCConfig(Params):
    """The whole economy: sizes, variant, dtype and the parameters of each agent type.

    The defaults are the paper's open economy (spec section 7); see ``paper``.
    """

    variant: Literal["open", "closed"] = param("open", "", "", None, "open has an export market")
    n_consumers: int = param(100, "C", "count", AT_LEAST_ONE, "consumer-workers")
    n_firms: int = param(10, "F", "count", AT_LEAST_ONE, "firms (one good each)")
    horizon: int = param(10, "T", "periods", AT_LEAST_ONE, "steps per episode")
    dtype: Literal["float32", "float64"] = param(
        "float32", "", "", None, "float dtype of the state"
    )
    action_space: Literal["discrete", "continuous"] = param(
        "discrete",
        "",
        "",
        None,
        "discrete: grid indices (the paper); continuous: values on the grids' ranges",
    )
    consumer: ConsumerParams = field(default_factory=ConsumerParams)
    firm: FirmParams = field(default_factory=FirmParams)
    government: GovernmentParams = field(default_factory=GovernmentParams)
    market: MarketParams = field(default_factory=MarketParams)
    curriculum: CurriculumParams = field(default_factory=CurriculumParams)
    parity: ReferenceParity = field(default_factory=ReferenceParity)

    @classmethod
    def paper(cls, variant: Literal["open", "closed"] = "open") -> RBCConfig:
        """The paper calibration (spec section 7) of the open or closed economy."""
        if variant not in ("open", "closed"):
            raise ValueError(
                f"RBCConfig.variant must be one of ['open', 'closed']; got {variant!r}"
            )
        return cls(variant=variant)

    def _check(self) -> None:
        # At iteration 0 the firm mask allows only its centre, so the centre must be a grid point.
        for name, center, grid, step in (
            (
                "firm_mask_price_center",
                self.curriculum.firm_mask_price_center,
                self.price_grid,
                self.firm.price_step,
            ),
            (
                "firm_mask_wage_center",
                self.curriculum.firm_mask_wage_center,
                self.wage_grid,
                self.firm.wage_step,
            ),
        ):
            if min(abs(center - v) for v in grid) > 1e-9 * step:
                raise ValueError(
                    f"CurriculumParams.{name} must be a point of the grid {list(grid)}; "
                    f"got {center:g}"
                )

    # ---- derived quantities -------------------------------------------------------------
    @property
    def n_agents(self) -> int:
        """Total agents: consumers + firms + one government."""
        return self.n_consumers + self.n_firms + 1

    @property
    def units_grid(self) -> tuple[float, ...]:
        """Attempted purchase per good, goods: index k -> k Δc."""
        return _grid(self.consumer.units_step, self.consumer.n_units)

    @property
    def hours_grid(self) -> tuple[float, ...]:
        """Hours offered, hours / period: index k -> k Δn."""
        return _grid(self.consumer.hours_step, self.consumer.n_hours)

    @property
    def price_grid(self) -> tuple[float, ...]:
        """Prices, money / good: index k -> k Δp."""
        return _grid(self.firm.price_step, self.firm.n_prices)

    @property
    def wage_grid(self) -> tuple[float, ...]:
        """Wages, money / hour: index k -> k Δw."""
        return _grid(self.firm.wage_step, self.firm.n_wages)

    @property
    def tax_grid(self) -> tuple[float, ...]:
        """Tax rates (both taxes), fraction: index k -> k Δτ."""
        return _grid(self.government.tax_step, self.government.n_tax_levels)

    @property
    def initial_firm_budget(self) -> float:
        """Firm cash at t = 0, money: (M_0 / C) × C."""
        return self.firm.initial_budget_per_consumer * self.n_consumers

    @property
    def open_economy(self) -> bool:
        """True for the open variant (an export market buys leftovers)."""
        return self.variant == "open"


def _grid(step: float, n: int) -> tuple[float, ...]:
    return tuple(step * k for k in range(n))


# ---- the growth family (docs/ground_truth.md) -------------------------------------------------
_UNIT_LEFT_OPEN = Interval(0.0, 1.0, lo_closed=False, hi_closed=True)
_CORRELATION = Interval(-1.0, 1.0, lo_closed=False, hi_closed=False)


@dataclass(frozen=True, kw_only=True, slots=True)
class GrowthParams(Params):
    """Calibration of the growth family; defaults are the closed-form (G1/G2) calibration."""

    alpha: float = param(0.36, "α", "1", UNIT_OPEN, "capital share in y = z k^α l^(1-α)")
    beta: float = param(0.95, "β", "1 / period", UNIT_OPEN, "discount factor (= the RL discount)")
    rho: float = param(0.9, "ρ", "1", _CORRELATION, "AR(1) persistence of log z")
    sigma: float = param(0.02, "σ", "log points", POSITIVE, "std. dev. of the log-z innovation")
    delta: float = param(1.0, "δ", "1 / period", _UNIT_LEFT_OPEN, "depreciation rate")
    gamma: float = param(1.0, "γ", "1", POSITIVE, "CRRA curvature of consumption (1 = log)")
    b: float = param(5.0, "b", "utils", POSITIVE, "labor disutility in u = ln c + b ln(1 - l)")

    @classmethod
    def hansen(cls, gamma: float = 1.0) -> GrowthParams:
        """Return the general-family (G3) calibration, Hansen (1985), quarterly.

        Args:
            gamma: CRRA curvature (the spec uses 1 or 2).

        Returns:
            ``alpha = 0.36, beta = 0.99, delta = 0.025, rho = 0.95, sigma = 0.00712``.
        """
        return cls(beta=0.99, delta=0.025, rho=0.95, sigma=0.00712, gamma=gamma)

    @property
    def is_closed_form(self) -> bool:
        """Whether G1's closed form applies (``delta = 1`` and log utility)."""
        return self.delta == 1.0 and self.gamma == 1.0


GrowthEconomyName = Literal["g1", "g2", "g3", "g4", "g5", "g6", "g7"]
PLANNER_ECONOMIES: tuple[str, ...] = ("g1", "g2", "g3", "g5")
CLOSED_FORM_ECONOMIES: tuple[str, ...] = ("g1", "g2", "g5", "g6")
UNIT_OPEN_HALF = Interval(0.0, 0.5, lo_closed=False)


@dataclass(frozen=True, kw_only=True, slots=True)
class GrowthConfig(Params):
    """One economy of the growth family (docs/ground_truth.md) and its design switches.

    ``economy`` picks G1-G7: planners G1 (Brock-Mirman), G2 (elastic labor), G3 (general δ, γ)
    and G5 (``n_sectors`` capital goods); markets G4 (``n_households`` price-taking households),
    G6 (households and ``n_producers`` capital-good producers that post prices) and G7 (G4 with
    information masks). The switches ``action`` (spending share vs quantity) and ``constraint``
    (squash vs clip vs penalty) set how a raw action becomes a feasible choice.
    """

    economy: GrowthEconomyName = param("g1", "", "", None, "which economy of the family")
    params: GrowthParams = field(default_factory=GrowthParams)
    n_households: int = param(1, "H", "count", AT_LEAST_ONE, "households (G4, G6, G7)")
    n_sectors: int = param(1, "N", "count", AT_LEAST_ONE, "capital goods / sectors (G5)")
    n_producers: int = param(1, "N", "count", AT_LEAST_ONE, "capital-good producers (G6)")
    horizon: int = param(200, "T", "periods", AT_LEAST_ONE, "steps per episode (truncation)")
    action: Literal["share", "quantity"] = param(
        "share", "", "", None, "saving as a share of cash on hand, or next capital in k_ss units"
    )
    constraint: Literal["squash", "clip", "penalty"] = param(
        "squash", "", "", None, "how a raw action is made feasible (sigmoid, clamp, or penalty)"
    )
    penalty: float = param(
        10.0,
        "κ",
        "utils / (control unit)^2",
        NONNEGATIVE,
        "penalty per squared distance of an infeasible control (constraint='penalty')",
    )
    information: Literal["full", "restricted", "half", "half_label"] = param(
        "full",
        "",
        "",
        None,
        "G7 observation masks: all full, all restricted, or half each; 'half_label' (an "
        "experiment, not in the spec): half carry the restricted label but see everything",
    )
    init_spread: float = param(
        0.5, "", "log points", NONNEGATIVE, "initial log(k/k_ss) ~ U(-spread, spread)"
    )
    init_dispersion: float = param(
        0.0,
        "",
        "log points",
        NONNEGATIVE,
        "initial spread of capital across households: log(k_h/K) ~ U(-d, d) per household "
        "around the economy's draw, renormalized so K keeps its draw (0: all equal; "
        "economies with households)",
    )
    action_bound: float = param(
        10.0, "", "raw units", POSITIVE, "raw actions must lie in [-bound, bound]"
    )
    min_share: float = param(
        1e-3, "ε", "1", UNIT_OPEN_HALF, "controls in shares are kept in [ε, 1 - ε]"
    )
    quantity_max: float = param(
        4.0, "x_max", "k_ss", POSITIVE, "upper end of next capital under action='quantity'"
    )
    adjustment_cost: float = param(
        0.5, "φ", "1 / goods", NONNEGATIVE, "G6 producer cost c(I) = I + φ/2 I^2 (goods)"
    )
    markup_max: float = param(
        2.0, "m_max", "1", POSITIVE, "G6 posted price q in [1, 1 + m_max] goods per unit of k"
    )
    dtype: Literal["float32", "float64"] = param(
        "float32", "", "", None, "float dtype of the state"
    )

    def _check(self) -> None:
        e = self.economy
        for name, value, allowed in (
            ("n_households", self.n_households, ("g4", "g6", "g7")),
            ("n_sectors", self.n_sectors, ("g5",)),
            ("n_producers", self.n_producers, ("g6",)),
        ):
            if value != 1 and e not in allowed:
                raise ValueError(
                    f"GrowthConfig.{name} must be 1 for economy {e!r} (it is used by "
                    f"{', '.join(allowed)}); got {value}"
                )
        if e in CLOSED_FORM_ECONOMIES and not self.params.is_closed_form:
            raise ValueError(
                f"GrowthConfig.params must have delta = 1 and gamma = 1 for economy {e!r} "
                f"(its closed form); got delta = {self.params.delta}, gamma = {self.params.gamma}"
            )
        if self.information != "full" and e != "g7":
            raise ValueError(
                f"GrowthConfig.information must be 'full' for economy {e!r} (masks are G7); "
                f"got {self.information!r}"
            )
        if self.information in ("half", "half_label") and self.n_households < 2:
            raise ValueError(
                f"GrowthConfig.n_households must be >= 2 with information={self.information!r}; "
                f"got {self.n_households}"
            )
        if self.init_dispersion > 0 and e not in ("g4", "g6", "g7"):
            raise ValueError(
                f"GrowthConfig.init_dispersion must be 0 for economy {e!r} (it spreads "
                f"households' capital: g4, g6, g7); got {self.init_dispersion:g}"
            )
        if self.action == "quantity" and self.quantity_max <= self.min_share:
            raise ValueError(
                f"GrowthConfig.quantity_max must exceed min_share ({self.min_share:g}); "
                f"got {self.quantity_max:g}"
            )

    @property
    def is_planner(self) -> bool:
        """Whether one planner chooses for the whole economy (G1, G2, G3, G5)."""
        return self.economy in PLANNER_ECONOMIES

    @property
    def elastic_labor(self) -> bool:
        """Whether hours are chosen (G2); elsewhere labor is one unit per household."""
        return self.economy == "g2"

    @classmethod
    def preset(cls, name: str) -> GrowthConfig:
        """A named economy of the spec: ``g1``, ``g2``, ``g3`` (Hansen, γ = 2), ``g4_h100``, ...

        Names: ``g1``, ``g2``, ``g3``, ``g3_log``, ``g4_h{1,4,100}``, ``g5_n{1,2,10}``,
        ``g6_n{1,2,10}``, ``g7_{restricted,half}``.
        """
        base, _, size = name.partition("_")
        if base in ("g1", "g2") and not size:
            return cls(economy=base)
        if base == "g3" and size in ("", "log"):
            gamma = 1.0 if size == "log" else 2.0
            return cls(economy="g3", params=GrowthParams.hansen(gamma), horizon=400)
        if base == "g4" and size[:1] == "h" and size[1:].isdigit():
            return cls(economy="g4", n_households=int(size[1:]))
        if base == "g5" and size[:1] == "n" and size[1:].isdigit():
            return cls(economy="g5", n_sectors=int(size[1:]))
        if base == "g6" and size[:1] == "n" and size[1:].isdigit():
            return cls(economy="g6", n_producers=int(size[1:]), n_households=10)
        if base == "g7" and size in ("restricted", "half"):
            return cls(economy="g7", n_households=10, information=size)
        raise ValueError(
            "GrowthConfig.preset name must be one of g1, g2, g3, g3_log, g4_h<H>, g5_n<N>, "
            f"g6_n<N>, g7_restricted, g7_half; got {name!r}"
        )


def dotted_overrides(key: str, value: Any) -> dict[str, Any]:
    """One override as dotted paths: ``("firm", {"tfp": 0.02})`` -> ``{"firm.tfp": 0.02}``.

    Values that are not mappings pass through: ``("n_firms", 3)`` -> ``{"n_firms": 3}``. The
    factories of every face use it to turn keyword overrides into ``Params.override`` paths.
    """
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(dotted_overrides(f"{key}.{k}", v))
        return out
    return {key: value}
