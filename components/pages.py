"""The page registry: path, title, who may open it, and its layout function."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dash.development.base_component import Component


@dataclass(frozen=True)
class Page:
    """A routed page; ``roles`` is checked on the server before its layout is built.

    ``title`` is the English message id, marked with ``N_`` where the page registers; the
    navbar translates it for each request.
    """

    path: str
    title: str
    roles: tuple[str, ...]
    layout: Callable[[], Component]
    order: int = 50


_PAGES: dict[str, Page] = {}


def register(page: Page) -> Page:
    _PAGES[page.path] = page
    return page


def find(path: str | None) -> Page | None:
    return _PAGES.get((path or "/").rstrip("/") or "/")


def pages_for(role: str | None) -> list[Page]:
    """Pages the role may open, in navigation order."""
    return sorted((p for p in _PAGES.values() if role in p.roles), key=lambda p: p.order)


def home_for(role: str | None) -> str | None:
    pages = pages_for(role)
    return pages[0].path if pages else None
