"""Tables under disclosure control: primary and secondary suppression, totals from released cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from queries.disclosure.policy import Policy, Protected, Released, _fmt, protect_count, round_to


def int_array(values: Sequence[Released]) -> pd.arrays.IntegerArray:
    return pd.array([None if r.value is None else int(r.value) for r in values], dtype="Int64")


def _group_safe(values: list[int], hidden: list[bool], group: list[int], k: int) -> bool:
    cells = [i for i in group if hidden[i]]
    return not cells or (len(cells) >= 2 and sum(values[i] for i in cells) >= k)


def _protect_group(values: list[int], hidden: list[bool], group: list[int], k: int) -> bool:
    """Hide the next smallest cells until the group's hidden block is safe; True if changed."""
    changed = False
    while not _group_safe(values, hidden, group, k):
        candidates = [i for i in group if not hidden[i] and values[i] > 0]
        if not candidates:
            break  # nothing left to hide; the group's total is withheld instead
        hidden[min(candidates, key=lambda i: (values[i], i))] = True
        changed = True
    return changed


def secondary_suppression(
    values: Sequence[int], hidden: Sequence[bool], groups: Sequence[Sequence[int]], k: int
) -> list[bool]:
    """Extend ``hidden`` so every group hides no cell or >= 2 cells summing to >= ``k``.

    ``groups`` are lists of cell indices whose total is (or can be) released, e.g. the rows
    and the columns of a table. Runs to a fixed point, so a cell hidden for a row is then
    protected in its column too. Then cells hidden on the way that turn out not to be needed
    are shown again, largest first, so that what stays hidden is small (greedy closure alone
    can hide a large cell for a row that a later, smaller one protects as well).
    """
    values, primary = [int(v) for v in values], list(hidden)
    hidden = list(primary)
    group_lists = [list(g) for g in groups]
    changed = True
    while changed:
        changed = False
        for group in group_lists:
            changed |= _protect_group(values, hidden, group, k)
    secondary = [i for i, h in enumerate(hidden) if h and not primary[i]]
    for i in sorted(secondary, key=lambda i: (-values[i], i)):
        hidden[i] = False
        if not all(_group_safe(values, hidden, g, k) for g in group_lists if i in g):
            hidden[i] = True
    return hidden


@dataclass
class _Cells:
    """Cells of one protection problem: exact values, what is hidden, released values."""

    values: list[int]
    primary: list[bool]
    hidden: list[bool]
    released: list[int | float | None]
    policy: Policy

    def cell(self, i: int) -> Released:
        if self.hidden[i]:
            return Released(None, self.policy.mask_display, True)
        value = int(self.released[i] or 0)
        return Released(value, _fmt(value))

    def total(self, group: Sequence[int]) -> Released:
        """A group's total from released numbers: visible cells plus the rounded hidden block."""
        group = list(group)
        if not group and not self.policy.exact:
            return Released(None, self.policy.mask_display, True)  # an unstructured zero
        visible = sum(self.released[i] or 0 for i in group if not self.hidden[i])
        block = [i for i in group if self.hidden[i]]
        if not block:
            return Released(visible, _fmt(visible))
        block_sum = sum(self.values[i] for i in block)
        if len(block) >= 2 and block_sum >= self.policy.min_count:
            total = visible + round_to(block_sum, self.policy.rounding)
            return Released(total, _fmt(total))
        return Released(None, self.policy.mask_display, True)

    def describe(self, labels: Sequence[str]) -> list[str]:
        out = []
        for i, hidden in enumerate(self.hidden):
            if hidden:
                why = (f"under {self.policy.min_count}" if self.primary[i]
                       else "hidden to protect a small count")
                out.append(f"{labels[i]}: {why}")
        return out


def _primary(values: list[int], policy: Policy, structural_zero: bool) -> list[bool]:
    if policy.exact:
        return [False] * len(values)
    return [v < policy.min_count and not (v == 0 and structural_zero) for v in values]


def protect_cells(
    values: Sequence[int],
    groups: Sequence[Sequence[int]],
    policy: Policy,
    structural_zero: bool = False,
) -> _Cells:
    """Primary and secondary suppression of ``values`` whose ``groups`` have released totals.

    Returns an object with ``cell(i)`` and ``total(group)`` as ``Released`` values and
    ``describe(labels)`` for the audit log.
    """
    exact = [int(v) for v in values]
    primary = _primary(exact, policy, structural_zero)
    hidden = primary if policy.exact else secondary_suppression(
        exact, primary, groups, policy.min_count)
    released = [None if h else protect_count(v, policy, structural_zero=True).value
                for v, h in zip(exact, hidden, strict=True)]
    return _Cells(exact, primary, hidden, released, policy)


@dataclass(frozen=True)
class ProtectedTable:
    """A count table as released.

    ``values``: the input frame with count columns as nullable ``Int64`` (NA = withheld);
    ``display``: the same frame with count columns as strings; totals recomputed from
    released numbers (``row_totals`` only with >= 2 count columns).
    """

    values: pd.DataFrame
    display: pd.DataFrame
    column_totals: dict[str, Released]
    row_totals: list[Released] | None
    grand_total: Released
    note: str = ""


def _table_groups(rows: int, cols: int) -> list[list[int]]:
    groups = []
    if rows >= 2 or cols == 1:
        groups += [[i * cols + j for i in range(rows)] for j in range(cols)]
    if cols >= 2:
        groups += [[i * cols + j for j in range(cols)] for i in range(rows)]
    return groups


def _labels(df: pd.DataFrame, label_column: str | None, columns: list[str]) -> list[str]:
    source = df[label_column] if label_column else df.index
    return [f"{row} / {col}" for row in source for col in columns]


def protect_table(
    df: pd.DataFrame,
    count_columns: Sequence[str],
    policy: Policy,
    *,
    structural_zero: bool = False,
    label_column: str | None = None,
    extra_groups: Sequence[Sequence[int]] = (),
) -> Protected[ProtectedTable]:
    """Protect a table of counts (rows x ``count_columns``) with secondary suppression.

    Cells under the threshold are withheld (primary); then, per column and (with >= 2 count
    columns) per row, more cells are withheld until each group hides none or >= 2 cells that
    together hold >= the threshold, so that no hidden cell can be recovered from a total.
    Totals are recomputed from released numbers. ``label_column`` names rows in
    ``suppressed`` (default: the index). ``extra_groups`` are further groups of flat cell
    indices (``row * n_columns + column``) with a released total.
    """
    columns = list(count_columns)
    matrix = df[columns].fillna(0).astype("int64").to_numpy()
    rows, cols = matrix.shape
    groups = _table_groups(rows, cols) + [list(g) for g in extra_groups]
    cells = protect_cells(matrix.reshape(-1).tolist(), groups, policy, structural_zero)

    out_values, out_display = df.copy(), df.copy()
    for j, col in enumerate(columns):
        released = [cells.cell(i * cols + j) for i in range(rows)]
        out_values[col] = int_array(released)
        out_display[col] = [r.display for r in released]
    column_totals = {col: cells.total([i * cols + j for i in range(rows)])
                     for j, col in enumerate(columns)}
    row_totals = None
    if cols >= 2:
        row_totals = [cells.total([i * cols + j for j in range(cols)]) for i in range(rows)]
    table = ProtectedTable(out_values, out_display, column_totals, row_totals,
                           cells.total(range(rows * cols)), policy.table_note)
    return Protected(table, cells.describe(_labels(df, label_column, columns)))


def protect_parts(
    parts: Sequence[int],
    total: int,
    policy: Policy,
    *,
    structural_zero: bool = False,
    labels: Sequence[str] | None = None,
) -> Protected[list[Released]]:
    """Protect the parts of a whole whose total is released elsewhere (Table 1 levels).

    The remainder ``total - sum(parts)`` (e.g. patients with an unknown value) can be worked
    out from the released total, so it takes part in secondary suppression as an unshown cell.
    """
    values = [int(p) for p in parts]
    remainder = int(total) - sum(values)
    if remainder < 0:
        raise ValueError("parts add up to more than the total")
    # A zero remainder is left out: a hidden zero would force hiding a part for nothing.
    cells_in = values + ([remainder] if remainder > 0 else [])
    cells = protect_cells(cells_in, [list(range(len(cells_in)))], policy, structural_zero)
    names = list(labels or [str(i) for i in range(len(values))]) + ["remainder"]
    return Protected([cells.cell(i) for i in range(len(values))], cells.describe(names))


# --- attrition -------------------------------------------------------------------------------


