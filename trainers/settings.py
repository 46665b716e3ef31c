"""Settings from the command line: presets, YAML files and ``--set key=value`` overrides.

``resolve_config`` builds the RBC ``TrainConfig`` of ``train`` and ``sweep``;
``resolve_growth_config`` the ``GrowthTrainConfig`` of ``truth``. Bad keys, values or presets
raise ``ValueError`` naming the key and the allowed values, before any work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from trainers.config import TrainConfig
from trainers.growth_config import GrowthTrainConfig

PRESETS = {
    "cpu_small": lambda: TrainConfig.cpu_small("open"),
    "paper_open": lambda: TrainConfig.paper("open"),
    "paper_closed": lambda: TrainConfig.paper("closed"),
}


def resolve_config(config: str, sets: list[str]) -> TrainConfig:
    """The TrainConfig named by ``--config`` with the ``--set`` overrides applied.

    Raises:
        ValueError: for an unknown preset, a missing file, a malformed ``--set`` or a bad field.
    """
    if config in PRESETS:
        base = PRESETS[config]()
    elif config.endswith((".yaml", ".yml")):
        path = Path(config)
        if not path.exists():
            raise ValueError(f"--config file {config!r} does not exist")
        base = TrainConfig.load(path)
    else:
        raise ValueError(
            f"--config must be a preset {sorted(PRESETS)} or a .yaml file; got {config!r}"
        )
    updates = _parse_sets(sets)
    return base.override(updates) if updates else base


def resolve_growth_config(
    economy: str,
    sets: list[str],
    *,
    seconds: float | None = None,
    iterations: int | None = None,
) -> GrowthTrainConfig:
    """The ``GrowthTrainConfig`` named by ``--economy`` with ``--set`` and budget overrides.

    Raises:
        ValueError: for an unknown preset, a missing file, a malformed ``--set`` or a bad field.
    """
    if economy.endswith((".yaml", ".yml")):
        path = Path(economy)
        if not path.exists():
            raise ValueError(f"--economy file {economy!r} does not exist")
        base = GrowthTrainConfig.load(path)
    else:
        base = GrowthTrainConfig.preset(economy)
    updates = _parse_sets(sets)
    if seconds is not None:
        updates["max_seconds"] = seconds
    if iterations is not None:
        updates["iterations"] = iterations
    return base.override(updates) if updates else base


def _parse_sets(sets: list[str]) -> dict[str, Any]:
    updates: dict[str, Any] = {}
    for item in sets:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set expects key=value; got {item!r}")
        updates[key.strip()] = yaml.safe_load(raw)
    return updates
