"""Ground-truth solver for G3: endogenous grid method (EGM) on a Rouwenhorst-discretized shock.

Model: ``max E sum_t beta^t u(c_t)``, ``u(c) = c^(1-gamma)/(1-gamma)`` (``ln c`` at
``gamma = 1``), ``c + k' = z k^alpha + (1 - delta) k``, labor fixed at ``l = 1``.

The consumption policy is stored on a fixed log-spaced k-grid at each shock node. One EGM step
takes the grid as end-of-period capital ``k'``, so next period's consumption is read off the grid
without interpolation; the Euler equation gives today's consumption and cash on hand
``m = c + k'``; the new policy is ``ln c`` linear in ``ln m`` at the fixed grid's cash on hand.
That interpolant is exact for G1 (``c = (1 - alpha beta) m``). Everything is vectorized float64
torch; the only Python loop is over iterations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from rbc_env.truth.growth import GrowthParams, g3_steady_state

__all__ = ["GrowthSolution", "euler_errors", "rouwenhorst", "solve_growth"]

_DTYPE = torch.float64


def rouwenhorst(
    n: int, rho: float, sigma: float, device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rouwenhorst discretization of ``x' = rho x + sigma eps`` (``x = log z``).

    Args:
        n: number of states (>= 2).
        rho: persistence, ``|rho| < 1``.
        sigma: innovation standard deviation (log points).
        device: torch device.

    Returns:
        ``(nodes, P)``: the ``n`` equally spaced log-z nodes spanning ``+-sigma_x sqrt(n - 1)``
        (``sigma_x = sigma / sqrt(1 - rho^2)``) and the row-stochastic transition matrix
        ``P[i, j] = Pr(x' = nodes[j] | x = nodes[i])``, float64.
    """
    if n < 2:
        raise ValueError(f"rouwenhorst: n must be >= 2; got {n}")
    p = (1.0 + rho) / 2.0
    mat = torch.tensor([[p, 1.0 - p], [1.0 - p, p]], dtype=_DTYPE, device=device)
    for m in range(3, n + 1):  # loop over matrix sizes, not grid points
        new = torch.zeros(m, m, dtype=_DTYPE, device=device)
        new[:-1, :-1] += p * mat
        new[:-1, 1:] += (1.0 - p) * mat
        new[1:, :-1] += (1.0 - p) * mat
        new[1:, 1:] += p * mat
        new[1:-1] /= 2.0
        mat = new
    psi = sigma / math.sqrt(1.0 - rho**2) * math.sqrt(n - 1)
    nodes = torch.linspace(-psi, psi, n, dtype=_DTYPE, device=device)
    return nodes, mat


def _interp(x: torch.Tensor, y: torch.Tensor, xq: torch.Tensor) -> torch.Tensor:
    """Row-wise linear interpolation (linear extrapolation beyond the ends).

    Args:
        x: ``(r, n)`` increasing abscissae per row.
        y: ``(r, n)`` ordinates.
        xq: ``(r, m)`` query points.

    Returns:
        ``(r, m)`` interpolated values.
    """
    n = x.shape[-1]
    idx = torch.searchsorted(x.contiguous(), xq.contiguous()).clamp(1, n - 1)
    x0, x1 = x.gather(-1, idx - 1), x.gather(-1, idx)
    y0, y1 = y.gather(-1, idx - 1), y.gather(-1, idx)
    return y0 + (y1 - y0) * (xq - x0) / (x1 - x0)


@dataclass(frozen=True)
class GrowthSolution:
    """Solved G3 policy on the grid (float64 tensors on the solver's device).

    Attributes:
        params: the parameters solved.
        k_grid: ``(n_k,)`` capital grid (goods), log-spaced around ``k_ss``.
        log_z: ``(n_z,)`` Rouwenhorst nodes of ``log z``.
        z: ``(n_z,)`` productivity levels ``exp(log_z)``.
        transition: ``(n_z, n_z)`` Markov matrix of the nodes.
        policy: ``(n_z, n_k)`` next capital ``k'(k, z)`` (goods).
        consumption: ``(n_z, n_k)`` consumption ``c(k, z)`` (goods).
        iterations: EGM iterations run.
        converged: whether the sup relative change of ``k'`` fell below ``tol``.
        tol: the policy tolerance used.
    """

    params: GrowthParams
    k_grid: torch.Tensor
    log_z: torch.Tensor
    z: torch.Tensor
    transition: torch.Tensor
    policy: torch.Tensor
    consumption: torch.Tensor
    iterations: int
    converged: bool
    tol: float

    def cash(self, k: torch.Tensor) -> torch.Tensor:
        """Cash on hand ``m = z k^alpha + (1 - delta) k`` at every node (goods).

        Args:
            k: ``(n_z, m)`` or ``(m,)`` capital.

        Returns:
            ``(n_z, m)`` cash on hand.
        """
        p = self.params
        return self.z[:, None] * k**p.alpha + (1.0 - p.delta) * k

    def consumption_at(self, k: torch.Tensor) -> torch.Tensor:
        """Consumption off the grid: ``ln c`` linear in ``ln m`` per shock node.

        Args:
            k: ``(n_z, m)`` or ``(m,)`` capital.

        Returns:
            ``(n_z, m)`` consumption.
        """
        k = torch.as_tensor(k, dtype=_DTYPE, device=self.k_grid.device)
        k = k.expand(self.z.shape[0], -1)
        m_grid = torch.log(self.cash(self.k_grid.expand(self.z.shape[0], -1)))
        return torch.exp(_interp(m_grid, torch.log(self.consumption), torch.log(self.cash(k))))

    def euler_errors(self, interior: float = 0.05) -> torch.Tensor:
        """Euler-equation errors at the midpoints of the grid's interior cells.

        See :func:`euler_errors`.

        Args:
            interior: share of cells dropped at each end of the grid.

        Returns:
            ``(n_z, m)`` ``log10 |1 - beta E[u'(c') R'] / u'(c)|``.
        """
        return euler_errors(self, interior=interior)


def euler_errors(sol: GrowthSolution, interior: float = 0.05) -> torch.Tensor:
    """Euler errors ``log10 |1 - beta E[u'(c') (alpha z' k'^(alpha-1) + 1 - delta)] / u'(c)|``.

    Evaluated off the grid, at the geometric midpoints of the grid cells with the first and last
    ``interior`` share of cells dropped, at every shock node; the expectation is over the
    Rouwenhorst transition (the discretized model the solver solves).

    Args:
        sol: a solution.
        interior: share of cells dropped at each end (0 keeps every cell).

    Returns:
        ``(n_z, m)`` errors in log10 units (``-inf`` where exact).
    """
    p = sol.params
    kg = sol.k_grid
    mid = torch.sqrt(kg[1:] * kg[:-1])
    drop = int(interior * mid.shape[0])
    mid = mid[drop : mid.shape[0] - drop]
    n_z = sol.z.shape[0]
    c = sol.consumption_at(mid)  # (n_z, m)
    k_next = sol.cash(mid.expand(n_z, -1)) - c  # (n_z, m)
    # next-period consumption for every (z, z') pair: each row z' evaluated at all k'(k, z)
    c_next = sol.consumption_at(k_next.reshape(1, -1))  # (z', z * m)
    c_next = c_next.reshape(n_z, n_z, -1).transpose(0, 1)  # (z, z', m)
    ret = p.alpha * sol.z[None, :, None] * k_next[:, None, :] ** (p.alpha - 1.0) + 1.0 - p.delta
    expect = torch.einsum("ij,ijm->im", sol.transition, c_next ** (-p.gamma) * ret)
    return torch.log10(torch.abs(1.0 - p.beta * expect / c ** (-p.gamma)))


def solve_growth(
    params: GrowthParams,
    *,
    n_k: int = 300,
    n_z: int = 7,
    k_bounds: tuple[float, float] = (0.2, 2.5),
    tol: float = 1e-10,
    max_iter: int = 20_000,
    device: torch.device | str = "cpu",
) -> GrowthSolution:
    """Solve G3 (labor ``l = 1``) by the endogenous grid method.

    Args:
        params: parameters (any ``delta`` in (0, 1], any CRRA ``gamma``).
        n_k: k-grid size (spec: >= 200).
        n_z: number of Rouwenhorst states (spec: >= 7).
        k_bounds: grid ends as multiples of the steady state ``k_ss`` (log spacing); the
            default spans the metrics' wide grid (0.3-1.6 ``k_ss``) with room for the next
            period's capital, so the truth is solved, not extrapolated, there.
        tol: stop when ``max |k'_new - k'_old| / k'_old < tol``.
        max_iter: iteration cap (``converged`` is False when it binds).
        device: torch device.

    Returns:
        The :class:`GrowthSolution`.
    """
    if n_k < 2 or n_z < 2:
        raise ValueError(f"solve_growth: n_k and n_z must be >= 2; got n_k={n_k}, n_z={n_z}")
    if not 0.0 < k_bounds[0] < 1.0 < k_bounds[1]:
        raise ValueError(f"solve_growth: k_bounds must satisfy 0 < lo < 1 < hi; got {k_bounds}")
    p = params
    k_ss = g3_steady_state(p)
    k_grid = torch.logspace(
        math.log10(k_bounds[0] * k_ss), math.log10(k_bounds[1] * k_ss), n_k,
        dtype=_DTYPE, device=device,
    )  # fmt: skip
    log_z, trans = rouwenhorst(n_z, p.rho, p.sigma, device=device)
    z = torch.exp(log_z)
    kk = k_grid.expand(n_z, -1)
    cash = z[:, None] * kk**p.alpha + (1.0 - p.delta) * kk  # (n_z, n_k) at the fixed grid
    log_cash = torch.log(cash)
    ret = p.alpha * z[:, None] * kk ** (p.alpha - 1.0) + 1.0 - p.delta  # R(k' = grid, z')
    c = cash.clone()  # terminal-period policy: consume everything
    policy = cash - c
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - loop over iterations only
        expect = trans @ (c ** (-p.gamma) * ret)  # (z, k') = E[u'(c') R' | z]
        c_endo = (p.beta * expect) ** (-1.0 / p.gamma)
        m_endo = c_endo + kk  # cash on hand that makes k' = grid optimal
        c_new = torch.exp(_interp(torch.log(m_endo), torch.log(c_endo), log_cash))
        new_policy = cash - c_new
        if it > 1:
            change = torch.max(torch.abs(new_policy - policy) / torch.abs(policy)).item()
            if change < tol:
                c, policy, converged = c_new, new_policy, True
                break
        c, policy = c_new, new_policy
    return GrowthSolution(
        params=p, k_grid=k_grid, log_z=log_z, z=z, transition=trans, policy=policy,
        consumption=c, iterations=it, converged=converged, tol=tol,
    )  # fmt: skip
