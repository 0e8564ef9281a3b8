"""Per-user preferences kept in the app store (the interface language), and the request's locale.

The language of a request is, in order: the signed-in user's saved choice, the browser's
``Accept-Language``, English.
"""

from __future__ import annotations

from pathlib import Path

import flask
import flask_login
from flask import has_request_context, request

from access import store
from queries.i18n import DEFAULT_LOCALE, LOCALES

store.register_schema(
    "preferences",
    """CREATE TABLE IF NOT EXISTS user_preferences (
        username TEXT PRIMARY KEY,
        language TEXT NOT NULL
    )""",
)

_G_KEY = "iocohort_locale"


def saved_language(store_path: str | Path, username: str) -> str | None:
    """The user's chosen language, or None when they never chose one."""
    with store.transaction(store_path) as con:
        row = con.execute("SELECT language FROM user_preferences WHERE username = ?",
                          [username]).fetchone()
    return row["language"] if row and row["language"] in LOCALES else None


def save_language(store_path: str | Path, username: str, language: str) -> None:
    """Remember ``language`` (one of LOCALES) for the user across sessions and devices."""
    if language not in LOCALES:
        raise ValueError(f"unknown language {language!r}; use one of {', '.join(LOCALES)}")
    with store.transaction(store_path) as con:
        con.execute(
            "INSERT INTO user_preferences (username, language) VALUES (?, ?) "
            "ON CONFLICT (username) DO UPDATE SET language = excluded.language",
            [username, language],
        )


def browser_language() -> str:
    """The best of LOCALES for the request's Accept-Language header, else English."""
    return request.accept_languages.best_match(LOCALES) or DEFAULT_LOCALE


def request_locale() -> str:
    """The language of this request (user's choice, then Accept-Language, then English)."""
    if not has_request_context():
        return DEFAULT_LOCALE
    cached = flask.g.get(_G_KEY)
    if cached:
        return cached
    # flask_login directly, not access.guard: the sign-in pages (access.auth) use this too.
    user = flask_login.current_user
    chosen = None
    if user is not None and user.is_authenticated:
        chosen = saved_language(store.app_store_path(), user.username)
    locale = chosen or browser_language()
    flask.g.setdefault(_G_KEY, locale)
    return locale

