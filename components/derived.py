"""Values derived from a cached analysis result, kept exactly as long as the result itself.

The analysis results are cached in ``queries`` (within a byte budget). What a callback makes
from one — its release for a role, its figure as JSON — is the same every time, so it is made
once and kept beside the result: when the result leaves the cache and is garbage collected,
what was derived from it goes too (a ``weakref.finalize`` on the result).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

_DERIVED: dict[int, dict[Hashable, Any]] = {}
_LOCK = threading.Lock()


def derived(result: object, key: Hashable, make: Callable[[], T]) -> T:
    """``make()`` for ``result`` and ``key``, computed on first use and then reused."""
    result_id = id(result)
    with _LOCK:
        entry = _DERIVED.get(result_id)
        if entry is not None and key in entry:
            return entry[key]
    value = make()
    with _LOCK:
        entry = _DERIVED.get(result_id)
        if entry is None:
            try:
                weakref.finalize(result, _forget, result_id)
            except TypeError:  # no weak references to it: nothing can be kept safely
                return value
            entry = _DERIVED[result_id] = {}
        return entry.setdefault(key, value)


def _forget(result_id: int) -> None:
    with _LOCK:
        _DERIVED.pop(result_id, None)


def derived_count() -> int:
    """Results that have derived values now (for tests and diagnostics)."""
    with _LOCK:
        return len(_DERIVED)
