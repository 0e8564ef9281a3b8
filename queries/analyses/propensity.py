"""Propensity scores, 1:1 caliper matching, stabilised inverse-probability weights and balance.

Pure numpy/pandas/scikit-learn on a per-patient covariate frame that never leaves the server.
Group ``A`` is coded 1 and group ``B`` 0, so every contrast reads "A vs B".

Standardized mean differences (SMD):

- continuous: (mean_A - mean_B) / sqrt((var_A + var_B) / 2);
- binary: (p_A - p_B) / sqrt((p_A (1 - p_A) + p_B (1 - p_B)) / 2);
- categorical: Yang & Dalton's multivariate SMD over the levels;

each with weights when given (weighted means and variances). Two groups that do not overlap at
all (complete separation: 100 % vs 0 %) have an infinite SMD, never 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.linear_model import LogisticRegression

from queries.analyses.comparison_options import Covariate

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _weighted_mean_var(x: FloatArray, w: FloatArray) -> tuple[float, float]:
    total = float(w.sum())
    if total <= 0:
        return math.nan, math.nan
    mean = float(np.dot(w, x) / total)
    var = float(np.dot(w, (x - mean) ** 2) / total)
    return mean, var


def smd_continuous(x_a: FloatArray, x_b: FloatArray, w_a: FloatArray | None = None,
                   w_b: FloatArray | None = None) -> float:
    """SMD of a continuous covariate (weighted when weights are given)."""
    w_a = np.ones_like(x_a) if w_a is None else w_a
    w_b = np.ones_like(x_b) if w_b is None else w_b
    mean_a, var_a = _weighted_mean_var(x_a, w_a)
    mean_b, var_b = _weighted_mean_var(x_b, w_b)
    return standardize(mean_a - mean_b, (var_a + var_b) / 2)


def smd_binary(p_a: float, p_b: float) -> float:
    """SMD of a proportion; infinite under complete separation (e.g. 100 % vs 0 %)."""
    return standardize(p_a - p_b, (p_a * (1 - p_a) + p_b * (1 - p_b)) / 2)


def standardize(diff: float, pooled_var: float) -> float:
    """diff / sqrt(pooled_var); 0 when neither differs nor varies, infinite when they differ
    but neither varies (complete separation)."""
    if math.isnan(diff) or math.isnan(pooled_var):
        return math.nan
    if pooled_var <= 1e-15:
        return 0.0 if abs(diff) <= 1e-12 else math.copysign(math.inf, diff)
    return diff / math.sqrt(pooled_var)


def smd_categorical(p_a: Sequence[float] | np.ndarray,
                    p_b: Sequence[float] | np.ndarray) -> float:
    """Yang & Dalton's SMD of a categorical covariate from its level proportions.

    sqrt(d' S^-1 d) with d the differences of all levels but the first and S the mean of the
    two multinomial covariance matrices. A difference outside the span of S (levels present in
    one group only, with no variation) is complete separation: infinite.
    """
    t = np.asarray(p_a, float)[1:]
    c = np.asarray(p_b, float)[1:]
    if t.size == 0:
        return 0.0
    cov = (np.diag(t) - np.outer(t, t) + np.diag(c) - np.outer(c, c)) / 2
    diff = t - c
    inverse = np.linalg.pinv(cov)
    if np.abs(diff - cov @ inverse @ diff).max() > 1e-9:
        return math.inf
    return math.sqrt(max(float(diff @ inverse @ diff), 0.0))


def design_matrix(frame: pd.DataFrame, covariates: Sequence[Covariate]) -> FloatArray:
    """Continuous covariates standardized (missing -> mean, plus a missing indicator);
    categorical ones one-hot with the first level dropped (missing is its own level)."""
    parts: list[FloatArray] = []
    for cov in covariates:
        column = frame[cov.key]
        if cov.kind == "continuous":
            values = pd.to_numeric(column, errors="coerce").to_numpy(float)
            missing = np.isnan(values)
            mean = float(np.nanmean(values)) if (~missing).any() else 0.0
            sd = float(np.nanstd(values)) if (~missing).any() else 1.0
            filled = np.where(missing, mean, values)
            parts.append(((filled - mean) / (sd if sd > 0 else 1.0))[:, None])
            if missing.any():
                parts.append(missing.astype(float)[:, None])
        else:
            dummies = pd.get_dummies(column.astype("string").fillna("Unknown"), drop_first=True)
            if dummies.shape[1]:
                parts.append(dummies.to_numpy(float))
    if not parts:
        return np.zeros((len(frame), 0))
    return np.hstack(parts)


def propensity_scores(frame: pd.DataFrame, covariates: Sequence[Covariate],
                      group: FloatArray) -> FloatArray:
    """P(group A | covariates) by logistic regression (scikit-learn, lbfgs, light L2 penalty
    so that separated covariates still give finite scores)."""
    x = design_matrix(frame, covariates)
    if x.shape[1] == 0 or len(np.unique(group)) < 2:
        share = float(group.mean()) if len(group) else 0.5
        return np.full(len(group), share)
    model = LogisticRegression(C=1e4, max_iter=2000)
    model.fit(x, group.astype(int))
    return np.asarray(model.predict_proba(x)[:, 1], dtype=float)


def logit(p: FloatArray) -> FloatArray:
    clipped = np.clip(p, 1e-12, 1 - 1e-12)
    return np.asarray(np.log(clipped / (1 - clipped)), dtype=float)


class _Available:
    """Indices 0..n-1 of sorted controls; finds the nearest one still free on each side in
    amortised near-constant time (two path-compressed 'next free' pointers)."""

    def __init__(self, n: int) -> None:
        self.right = list(range(n + 1))  # node i is index i; node n: none to the right
        self.left = list(range(n + 1))  # node i + 1 is index i; node 0: none to the left

    def _find(self, parent: list[int], i: int) -> int:
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    def next_right(self, i: int) -> int:
        return self._find(self.right, i)

    def next_left(self, i: int) -> int:
        return self._find(self.left, i + 1) - 1

    def take(self, i: int) -> None:
        self.right[i] = i + 1
        self.left[i + 1] = i


def match_nearest(score_a: FloatArray, score_b: FloatArray, caliper: float,
                  seed: int) -> list[tuple[int, int]]:
    """Greedy 1:1 nearest-neighbour matching without replacement within ``caliper``.

    Group A patients are taken in a random order fixed by ``seed`` (so the result is
    repeatable); each takes the nearest free B patient on the score scale, if within the
    caliper. Returns (index in A, index in B) pairs.
    """
    order_b = np.argsort(score_b, kind="stable")
    sorted_b = score_b[order_b]
    free = _Available(len(sorted_b))
    pairs: list[tuple[int, int]] = []
    rng = np.random.default_rng(seed)
    for i in rng.permutation(len(score_a)):
        s = score_a[i]
        pos = int(np.searchsorted(sorted_b, s))
        right = free.next_right(pos)
        left = free.next_left(pos - 1)
        best, distance = -1, math.inf
        if right < len(sorted_b):
            best, distance = right, sorted_b[right] - s
        if left >= 0 and s - sorted_b[left] <= distance:
            best, distance = left, s - sorted_b[left]
        if best >= 0 and distance <= caliper:
            free.take(best)
            pairs.append((int(i), int(order_b[best])))
    return pairs


def stabilised_weights(score: FloatArray, group: FloatArray, trim: float) -> FloatArray:
    """Stabilised IPT weights P(A)/ps for A and P(B)/(1 - ps) for B; patients whose score
    lies outside [trim, 1 - trim] get weight 0 (trimmed: no comparable patient exists)."""
    share = float(group.mean())
    weights = np.where(group == 1, share / score, (1 - share) / (1 - score))
    keep = (score >= trim) & (score <= 1 - trim)
    return np.asarray(np.where(keep, weights, 0.0), dtype=float)


def effective_size(weights: FloatArray) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2."""
    total = float(weights.sum())
    squares = float((weights ** 2).sum())
    return 0.0 if squares == 0 else total * total / squares


def balance_table(frame: pd.DataFrame, covariates: Sequence[Covariate], group: FloatArray,
                  weights: FloatArray | None) -> pd.DataFrame:
    """One row per covariate: SMD (A vs B) unweighted, or with the given weights."""
    rows = []
    in_a = group == 1
    w = np.ones(len(frame)) if weights is None else weights
    for cov in covariates:
        column = frame[cov.key]
        if cov.kind == "continuous":
            values = pd.to_numeric(column, errors="coerce").to_numpy(float)
            known = ~np.isnan(values)
            smd = smd_continuous(values[in_a & known], values[~in_a & known],
                                 w[in_a & known], w[~in_a & known])
        else:
            labels = column.astype("string").fillna("Unknown")
            levels = sorted(labels.unique())
            p_a = _level_shares(labels[in_a], w[in_a], levels)
            p_b = _level_shares(labels[~in_a], w[~in_a], levels)
            smd = (smd_binary(p_a[1], p_b[1]) if len(levels) == 2
                   else smd_categorical(p_a, p_b))
        rows.append({"key": cov.key, "covariate": cov.label, "kind": cov.kind, "smd": smd})
    return pd.DataFrame(rows, columns=["key", "covariate", "kind", "smd"])


def _level_shares(labels: pd.Series, weights: FloatArray, levels: list[str]) -> list[float]:
    total = float(weights.sum())
    if total <= 0:
        return [math.nan] * len(levels)
    sums = pd.Series(weights, index=labels.index).groupby(labels.to_numpy()).sum()
    return [float(sums.get(level, 0.0)) / total for level in levels]
