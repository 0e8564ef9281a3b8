"""Translation and locale formatting for the UI: the request's language, applied.

Every user-visible string in ``components/`` goes through ``_`` / ``ngettext`` (module-level
constants are marked with ``N_`` and translated where they are shown); numbers and dates go
through ``fmt_*``. ``tests/unit/test_i18n.py`` checks both and that Finnish is complete.
"""

from __future__ import annotations

import datetime as dt
import re

import dash

from access.preferences import request_locale
from queries.i18n import LANGUAGE_NAMES, LOCALES, N_, Translator, translator

__all__ = ["LANGUAGE_NAMES", "LOCALES", "N_", "_", "current_locale", "fmt_date", "fmt_datetime",
           "fmt_int", "fmt_number", "fmt_percent", "localize_released", "ngettext",
           "plotly_separators", "tr"]


def current_locale() -> str:
    """``en`` or ``fi`` for this request (English outside a request, e.g. in unit tests)."""
    return request_locale()


def tr() -> Translator:
    """The translator of this request's language."""
    return translator(current_locale())


def _(message: str, **values: object) -> str:
    """Translate ``message`` and fill its ``{name}`` placeholders."""
    return tr().gettext(message, **values)


def ngettext(singular: str, plural: str, n: int, **values: object) -> str:
    """Singular/plural translation for ``n`` (``{n}`` is filled with ``n`` formatted)."""
    return tr().ngettext(singular, plural, n, **values)


def fmt_int(value: int | float) -> str:
    return tr().integer(value)


def fmt_number(value: float, decimals: int = 1) -> str:
    return tr().number(value, decimals)


def fmt_percent(value: float, decimals: int = 1) -> str:
    """``value`` on the 0-100 scale."""
    return tr().percent(value, decimals)


def fmt_date(value: dt.date | str | None) -> str:
    return tr().date(value)


def fmt_datetime(value: dt.datetime | str) -> str:
    return tr().datetime(value)


def plotly_separators() -> str:
    """Plotly's ``layout.separators`` (decimal, then thousands) for this language."""
    t = tr()
    return t.decimal_symbol + t.group_symbol


def install_html_lang(app: dash.Dash) -> None:
    """Serve Dash's index page with ``<html lang>`` set to the request's language."""
    interpolate = app.interpolate_index

    def with_lang(**kwargs: object) -> str:
        page = interpolate(**kwargs)
        tag = f'<html lang="{current_locale()}">'  # i18n: markup
        return page.replace("<html>", tag, 1)

    app.interpolate_index = with_lang  # type: ignore[method-assign]


_RELEASED_NUMBER = re.compile(r"(?P<number>-?[0-9][0-9,]*(?:\.[0-9]+)?)(?P<percent>%?)")


def localize_released(text: object) -> str:
    """A display string of ``queries.disclosure`` ("1,234", "12.5%", "< 10", "suppressed")
    in the user's language; the released value itself is unchanged."""
    if text is None:
        return "—"
    raw = str(text)
    if raw in ("suppressed",):
        return _("suppressed")

    def number(match: re.Match) -> str:
        digits = match["number"].replace(",", "")
        decimals = len(digits.split(".")[1]) if "." in digits else 0
        value = float(digits)
        if match["percent"]:
            return fmt_percent(value, decimals)
        return fmt_number(value, decimals) if decimals else fmt_int(value)

    return _RELEASED_NUMBER.sub(number, raw)
