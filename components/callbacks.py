"""Callbacks declared beside their code, registered on each app through ``app.callback``.

Dash's global ``dash.callback`` hands its callbacks to the first app of the process only, and
a process may build several apps (the tests build one per test). So each page module declares
its callbacks on its own ``Callbacks`` and exposes ``register(app)``; ``app.py`` calls it for
every app it builds. Nothing here touches Dash's private state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import dash

F = TypeVar("F", bound=Callable[..., Any])


class Callbacks:
    """The callbacks of one module: ``@CALLBACKS.callback(...)`` takes ``dash.callback``'s
    arguments; ``register(app)`` gives them to ``app.callback``."""

    def __init__(self) -> None:
        self._declared: list[tuple[tuple[Any, ...], dict[str, Any], Callable[..., Any]]] = []

    def callback(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        def declare(func: F) -> F:
            self._declared.append((args, kwargs, func))
            return func
        return declare

    def add(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Declare a callback made elsewhere (e.g. generated from a panel declaration)."""
        self._declared.append((args, kwargs, func))

    def register(self, app: dash.Dash) -> None:
        for args, kwargs, func in self._declared:
            app.callback(*args, **kwargs)(func)

    def __len__(self) -> int:
        return len(self._declared)
