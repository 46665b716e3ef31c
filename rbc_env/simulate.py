"""Simulate the paper's open and closed economies under a fixed heuristic policy.

This is the package's main job until the trainer exists: it runs `rbc_env.BatchedEconomy`
for both variants of the paper calibration (``RBCConfig.paper("open")`` and
``RBCConfig.paper("closed")``), a batch of B economies for several episodes of T = 10 periods,
and reports what happens when nobody learns.

How to run:

```bash
python -m rbc_env.simulate [--episodes N] [--batch B] [--seed S] [--out runs/simulate]
                           [--device cpu] [--threads 1] [--no-progress]
```

The heuristic policy (`HeuristicPolicy`), the same in every period and economy:

- **Consumers** try to buy ``units`` units (default 1) of each of the ``n_goods`` (default 3)
  cheapest goods whose price is at most their cash; equal prices are ranked at random. The
  budget scaling (M1) and rationing (M3) of the model then apply as usual. Each consumer works
  ``hours`` hours (default 520, half the maximum) at the firm with the highest wage in force,
  ties broken at random (all firms pay the same under this policy, so labour spreads evenly).
- **Firms** set next period's price to 1000 and wage to 22 (the centres of the curriculum's action
  masks, ``config.curriculum.firm_mask_price_center`` and ``firm_mask_wage_center``).
- **The government** sets both tax rates to 20%.

The ties are broken with uniform draws from the economy's own ``torch.Generator``, seeded with
``--seed``; the open and closed economies use the same seed, so they see the same draws. The run
is deterministic given the seed, the batch size and the device.

Outputs under ``--out``: ``summary.csv`` (one row per variant), ``summary.md`` (the table
below), ``trajectories.csv`` (per-period means), ``simulate.png`` (per-period trajectories, open
vs closed) and ``config_open.yaml`` / ``config_closed.yaml`` (the economies simulated). The CLI
prints a table of per-period means per agent type and variant last.

Results to expect with the defaults: in the open economy the export market buys the stock that
consumers leave, so firms earn more and hold less inventory; in the closed economy unsold goods
pile up. Under this policy firms pay more in wages than they sell, so firm rewards are negative
in both variants.
"""

from __future__ import annotations

import argparse
import csv
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from tqdm import tqdm

from rbc_env.config import RBCConfig
from rbc_env.core.actions import Actions
from rbc_env.core.economy import BatchedEconomy
from rbc_env.core.state import EconomyState
from rbc_env.tables import markdown_table

__all__ = [
    "METRICS",
    "HeuristicPolicy",
    "Metric",
    "SimulationResult",
    "format_table",
    "main",
    "plot_trajectories",
    "simulate",
    "summarize",
    "write_outputs",
]

logger = logging.getLogger(__name__)

Variant = Literal["open", "closed"]
VARIANTS: tuple[Variant, ...] = ("open", "closed")


@dataclass(frozen=True, slots=True)
class Metric:
    """One per-period quantity that the simulation records.

    Attributes:
        name: column name in the CSV files.
        agent_type: ``consumer``, ``firm`` or ``government``.
        label: human-readable name for the table and the plot.
        unit: unit of the per-period mean.
        in_table: whether the printed summary table shows it.
    """

    name: str
    agent_type: str
    label: str
    unit: str
    in_table: bool = True


METRICS: tuple[Metric, ...] = (
    Metric("consumer_reward", "consumer", "reward", "utility / period"),
    Metric("hours", "consumer", "hours worked", "hours / period"),
    Metric("consumption", "consumer", "consumption (all goods)", "goods / period"),
    Metric("consumer_cash", "consumer", "cash, end of period", "money", in_table=False),
    Metric("firm_reward", "firm", "reward (after-tax profit)", "money / period"),
    Metric("price", "firm", "price", "money / good"),
    Metric("wage", "firm", "wage", "money / hour"),
    Metric("production", "firm", "production", "goods / period", in_table=False),
    Metric("exports", "firm", "exports", "goods / period"),
    Metric("inventory", "firm", "inventory, end of period", "goods", in_table=False),
    Metric("firm_cash", "firm", "cash, end of period", "money", in_table=False),
    Metric("welfare", "government", "welfare (reward)", "utility / period"),
    Metric("tax_revenue", "government", "tax revenue", "money / period"),
)
"""The recorded quantities: per-agent means (per economy for the government) in each period.

Prices and wages are those in force during the period (set in the previous one); stocks and
cash are measured at the end of the period.
"""


@dataclass(frozen=True, slots=True)
class HeuristicPolicy:
    """A fixed, documented policy for all three agent types (see the module docstring).

    Args:
        units: units each consumer tries to buy of each chosen good (a consumption-grid value).
        n_goods: how many of the cheapest affordable goods each consumer buys.
        hours: hours each consumer works per period (an hours-grid value).
        price: next-period price every firm sets, money / good; ``None`` means the centre of
            the curriculum's price mask.
        wage: next-period wage every firm sets, money / hour; ``None`` means the centre of the
            curriculum's wage mask.
        tax: income- and corporate-tax rate the government sets (a tax-grid value).
    """

    units: float = 1.0
    n_goods: int = 3
    hours: float = 520.0
    price: float | None = None
    wage: float | None = None
    tax: float = 0.2

    def act(self, config: RBCConfig, state: EconomyState, generator: torch.Generator) -> Actions:
        """Action indices of every agent in every economy for the current state.

        Args:
            config: the economy (grids and sizes).
            state: the state at the start of the period.
            generator: source of the tie-breaking draws (on the state's device).

        Returns:
            Index tensors keyed by agent type, as `BatchedEconomy.step` takes them.

        Raises:
            ValueError: if a setting is not a point of its grid, or ``n_goods`` is out of range.
        """
        b, c, f = state.batch_size, config.n_consumers, config.n_firms
        device = state.device
        if isinstance(self.n_goods, bool) or not isinstance(self.n_goods, int):
            raise ValueError(f"HeuristicPolicy.n_goods must be an integer; got {self.n_goods!r}")
        if not 0 <= self.n_goods <= f:
            raise ValueError(f"HeuristicPolicy.n_goods must be in [0, {f}]; got {self.n_goods}")
        cur = config.curriculum
        units = _grid_index("units", self.units, config.units_grid)
        hours = _grid_index("hours", self.hours, config.hours_grid)
        price_value = cur.firm_mask_price_center if self.price is None else self.price
        wage_value = cur.firm_mask_wage_center if self.wage is None else self.wage
        price = _grid_index("price", price_value, config.price_grid)
        wage = _grid_index("wage", wage_value, config.wage_grid)
        tax = _grid_index("tax", self.tax, config.tax_grid)

        # Rank goods by price; a uniform draw in [0, 0.5) of a grid step breaks ties at random
        # and never reorders different grid prices.
        noise = torch.rand((b, c, f), generator=generator, device=device, dtype=state.dtype)
        key = state.price.unsqueeze(1) / config.firm.price_step + 0.5 * noise
        affordable = state.price.unsqueeze(1) <= state.consumer_budget.unsqueeze(-1)
        key = torch.where(affordable, key, torch.full_like(key, math.inf))
        rank = key.argsort(dim=-1).argsort(dim=-1)
        buy = affordable & (rank < self.n_goods)
        consumer_units = torch.where(buy, units, 0)

        wage_noise = torch.rand((b, c, f), generator=generator, device=device, dtype=state.dtype)
        wage_key = state.wage.unsqueeze(1) / config.firm.wage_step + 0.5 * wage_noise
        employer = wage_key.argmax(dim=-1)

        consumer = torch.cat(
            [
                consumer_units,
                torch.full((b, c, 1), hours, dtype=torch.long, device=device),
                employer.unsqueeze(-1),
            ],
            dim=-1,
        )
        firm = torch.tensor([price, wage], dtype=torch.long, device=device).expand(b, f, 2)
        government = torch.tensor([tax, tax], dtype=torch.long, device=device).expand(b, 2)
        return {"consumer": consumer, "firm": firm.clone(), "government": government.clone()}


def _grid_index(name: str, value: float, grid: tuple[float, ...]) -> int:
    """Index of ``value`` in ``grid``; ``ValueError`` naming the setting if it is not on it."""
    for k, v in enumerate(grid):
        if abs(v - value) <= 1e-9 * max(1.0, abs(v)):
            return k
    raise ValueError(f"HeuristicPolicy.{name} must be one of {list(grid)}; got {value!r}")


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """Per-period means of one variant's simulation.

    Attributes:
        variant: ``open`` or ``closed``.
        config: the economy simulated.
        trajectories: metric name -> [episodes, T] tensor, each entry the mean over the batch
            (and over agents of the metric's type) in that episode and period.
    """

    variant: str
    config: RBCConfig
    trajectories: dict[str, torch.Tensor]

    def per_period(self) -> dict[str, torch.Tensor]:
        """Metric name -> [T] mean over episodes."""
        return {k: v.mean(0) for k, v in self.trajectories.items()}

    def means(self) -> dict[str, float]:
        """Metric name -> mean over episodes and periods (the per-period mean)."""
        return {k: float(v.mean()) for k, v in self.trajectories.items()}


def _step_metrics(
    state: EconomyState,
    next_state: EconomyState,
    out_rewards: dict[str, torch.Tensor],
    flows: dict[str, torch.Tensor],
) -> dict[str, torch.Tensor]:
    """The METRICS of one period, as 0-d tensors (means over batch and agents)."""
    return {
        "consumer_reward": out_rewards["consumer"].mean(),
        "hours": flows["hours"].mean(),
        "consumption": flows["consumption"].sum(-1).mean(),
        "consumer_cash": next_state.consumer_budget.mean(),
        "firm_reward": out_rewards["firm"].mean(),
        "price": state.price.mean(),
        "wage": state.wage.mean(),
        "production": flows["production"].mean(),
        "exports": flows["exports"].mean(),
        "inventory": next_state.inventory.mean(),
        "firm_cash": next_state.firm_budget.mean(),
        "welfare": out_rewards["government"].mean(),
        "tax_revenue": flows["tax_revenue"].mean(),
    }


def simulate(
    variants: Sequence[Variant] = VARIANTS,
    *,
    policy: HeuristicPolicy | None = None,
    episodes: int = 10,
    batch_size: int = 128,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = False,
) -> list[SimulationResult]:
    """Run the paper economies under a heuristic policy and record per-period means.

    Args:
        variants: which paper economies to simulate, in order.
        policy: the policy of every agent; ``None`` gives the default `HeuristicPolicy`.
        episodes: episodes per variant (each resets all B economies to the initial state).
        batch_size: economies B stepped together.
        seed: seed of each economy's generator (the policy's tie-breaking draws).
        device: torch device.
        progress: show a tqdm progress bar on stderr (one tick per episode).

    Returns:
        One `SimulationResult` per variant.

    Raises:
        ValueError: on a bad variant, episode count, batch size, seed or policy setting.
    """
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be an integer in [1, inf); got {episodes!r}")
    policy = policy if policy is not None else HeuristicPolicy()
    results = []
    with tqdm(
        total=len(variants) * episodes, desc="simulate", unit="episode", disable=not progress
    ) as bar:
        for variant in variants:
            config = RBCConfig.paper(variant)
            econ = BatchedEconomy(config, batch_size=batch_size, device=device, seed=seed)
            records: dict[str, list[torch.Tensor]] = {m.name: [] for m in METRICS}
            for _ in range(episodes):
                econ.reset()
                per_step: list[dict[str, torch.Tensor]] = []
                for _t in range(config.horizon):
                    state = econ.state
                    out = econ.step(policy.act(config, state, econ.generator))
                    per_step.append(_step_metrics(state, econ.state, out.rewards, out.flows))
                for m in METRICS:
                    records[m.name].append(torch.stack([s[m.name] for s in per_step]))
                bar.set_postfix(variant=variant)
                bar.update()
            trajectories = {k: torch.stack(v).double().cpu() for k, v in records.items()}
            results.append(SimulationResult(variant, config, trajectories))
            logger.info(
                "simulated %s economy: %d episodes x %d economies", variant, episodes, batch_size
            )
    return results


def summarize(results: Sequence[SimulationResult]) -> list[dict[str, object]]:
    """One row per variant: the variant and every metric's mean over episodes and periods."""
    rows: list[dict[str, object]] = []
    for r in results:
        rows.append({"variant": r.variant, **r.means()})
    return rows


def _fmt(x: float) -> str:
    return f"{x:,.1f}" if abs(x) >= 100 else f"{x:.3f}"


def format_table(results: Sequence[SimulationResult]) -> str:
    """Markdown table of the per-period means: one row per quantity, one column per variant."""
    means = [r.means() for r in results]
    header = ["type", "quantity (per-period mean)", "unit", *[r.variant for r in results]]
    rows = [
        [m.agent_type, m.label, m.unit, *[_fmt(x[m.name]) for x in means]]
        for m in METRICS
        if m.in_table
    ]
    return markdown_table(header, rows, align="lll" + "r" * len(results), pad=True)


def plot_trajectories(results: Sequence[SimulationResult], path: str | Path) -> Path:
    """Save a grid of per-period trajectories (mean over episodes), one line per variant.

    Args:
        results: the simulated variants.
        path: where the PNG goes.

    Returns:
        The path written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    skip = ("hours", "consumer_cash", "production", "tax_revenue")
    panels = [m for m in METRICS if m.name not in skip]
    ncols = 3
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.0 * nrows), squeeze=False)
    styles = {"open": ("tab:blue", "o"), "closed": ("tab:orange", "s")}
    for ax, m in zip(axes.flat, panels, strict=False):
        for r in results:
            y = r.per_period()[m.name].numpy()
            color, marker = styles.get(r.variant, ("black", "."))
            ax.plot(range(len(y)), y, color=color, marker=marker, ms=3, label=r.variant)
        ax.set_title(f"{m.agent_type}: {m.label}", fontsize=9)
        ax.set_ylabel(m.unit, fontsize=8)
        ax.set_xlabel("period t", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(
        "Paper economies under the heuristic policy (mean over economies and episodes)", fontsize=10
    )
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_outputs(
    results: Sequence[SimulationResult], out_dir: str | Path, *, settings: dict[str, object]
) -> dict[str, Path]:
    """Write summary.csv, summary.md, trajectories.csv, simulate.png and the configs.

    Args:
        results: the simulated variants.
        out_dir: output folder (created if needed).
        settings: run settings recorded in the CSV and Markdown (episodes, batch, seed, ...).

    Returns:
        Name -> path of every file written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for r in results:
        paths[f"config_{r.variant}"] = out / f"config_{r.variant}.yaml"
        r.config.dump(paths[f"config_{r.variant}"])

    paths["summary_csv"] = out / "summary.csv"
    names = [m.name for m in METRICS]
    with open(paths["summary_csv"], "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["variant", *settings, *names])
        for row in summarize(results):
            writer.writerow([row["variant"], *settings.values(), *[repr(row[n]) for n in names]])

    paths["trajectories_csv"] = out / "trajectories.csv"
    with open(paths["trajectories_csv"], "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["variant", "t", *names])
        for r in results:
            per = r.per_period()
            for t in range(r.config.horizon):
                writer.writerow([r.variant, t, *[repr(float(per[n][t])) for n in names]])

    paths["summary_md"] = out / "summary.md"
    setting_text = ", ".join(f"{k} = {v}" for k, v in settings.items())
    paths["summary_md"].write_text(
        "# Paper economies under the heuristic policy\n\n"
        f"Settings: {setting_text}. Written by `python -m rbc_env.simulate`.\n\n"
        f"{format_table(results)}\n",
        encoding="utf-8",
    )
    paths["plot"] = plot_trajectories(results, out / "simulate.png")
    for name, p in paths.items():
        logger.info("wrote %s: %s", name, p)
    return paths


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m rbc_env.simulate",
        description="Simulate the paper's open and closed economies under a heuristic policy.",
    )
    parser.add_argument("--episodes", type=int, default=10, help="episodes per variant (10)")
    parser.add_argument("--batch", type=int, default=128, help="economies per batch (128)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the tie-breaking draws (0)")
    parser.add_argument("--out", default="runs/simulate", help="output folder (runs/simulate)")
    parser.add_argument("--device", default="cpu", help="torch device (cpu)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (1: the tensors are small, and one thread is fastest on a busy "
        "machine; 0 keeps torch's default)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: simulate, write the outputs, print the table last.

    Args:
        argv: command-line arguments (``None`` reads ``sys.argv``).

    Returns:
        The exit status, 0. Bad arguments exit with status 2 and a message (argparse).
    """
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.threads < 0:
        parser.error(f"--threads must be an integer in [0, inf); got {args.threads}")
    threads = torch.get_num_threads()
    try:
        if args.threads > 0:
            torch.set_num_threads(args.threads)
        results = simulate(
            episodes=args.episodes,
            batch_size=args.batch,
            seed=args.seed,
            device=args.device,
            progress=not args.no_progress,
        )
    except ValueError as err:
        parser.error(str(err))
    finally:
        torch.set_num_threads(threads)  # main() may run inside another program (the tests)
    settings = {"episodes": args.episodes, "batch": args.batch, "seed": args.seed}
    paths = write_outputs(results, args.out, settings=settings)
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    print(
        f"\nPaper economies under the heuristic policy: {args.episodes} episodes x "
        f"{args.batch} economies x {results[0].config.horizon} periods per variant, "
        f"seed {args.seed}\n"
    )
    print(format_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
