"""Message catalogues and locale-aware formatting (Babel), for every layer.

No Flask here: the caller passes the locale (``components.i18n`` resolves it per request).
Catalogues are the ``.po`` files under ``translations/``, compiled in memory the first time a
locale is used, so a fresh clone needs no build step and a ``.po`` edit needs no ``make``.
Message ids are the English text; ``{name}`` placeholders are filled with ``str.format`` after
translation, and numbers are formatted by the caller (``Translator.integer`` etc.) so that a
translation never has to know a number format.
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext as stdlib_gettext
from collections.abc import Iterable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES: tuple[str, ...] = ("en", "fi")
DEFAULT_LOCALE = "en"
LANGUAGE_NAMES = {"en": "English", "fi": "Suomi"}
DOMAIN = "messages"
TRANSLATIONS_DIR = Path(__file__).resolve().parents[1] / "translations"


def N_(message: str) -> str:
    """Mark a string for the catalogue without translating it (translated where shown)."""
    return message


def normalize_locale(locale: str | None) -> str:
    """One of LOCALES: ``fi-FI`` -> ``fi``; anything unknown -> the default."""
    code = (locale or "").replace("_", "-").split("-")[0].lower()
    return code if code in LOCALES else DEFAULT_LOCALE


def catalogue_path(locale: str) -> Path:
    return TRANSLATIONS_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.lru_cache(maxsize=len(LOCALES))
def _translations(locale: str) -> stdlib_gettext.NullTranslations:
    """The compiled catalogue of ``locale`` (English is the source language: no catalogue)."""
    path = catalogue_path(locale)
    if locale == DEFAULT_LOCALE or not path.exists():
        return stdlib_gettext.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=locale)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def _fill(text: str, values: dict[str, object]) -> str:
    return text.format(**values) if values else text


class Text(str):
    """English text produced in ``queries`` (a note, a reason, a definition) that keeps its
    catalogue message and values, so the UI can show it in another language: it is the English
    string everywhere else (comparisons, JSON, the command line). Mark the message with ``N_``:
    ``Text(N_("{n} patients were left out"), n=3)``."""

    msgid: str
    values: dict[str, object]

    def __new__(cls, msgid: str, **values: object) -> Text:
        made = super().__new__(cls, _fill(msgid, values))
        made.msgid, made.values = msgid, values
        return made


class TextList(str):
    """Catalogue messages (or ``Text``) listed with ", " (e.g. covariate names), each shown in
    the reader's language where the list is placed in a message; English everywhere else."""

    items: tuple[str, ...]

    def __new__(cls, items: Iterable[str]) -> TextList:
        listed = tuple(items)
        made = super().__new__(cls, ", ".join(listed))
        made.items = listed
        return made


@dataclass(frozen=True)
class Translator:
    """Translation and number/date formatting for one locale."""

    locale: str

    @property
    def _catalogue(self) -> stdlib_gettext.NullTranslations:
        return _translations(self.locale)

    def gettext(self, message: str, **values: object) -> str:
        """The translation of ``message`` with ``{name}`` placeholders filled from ``values``
        (a ``Text`` value is put in in this language too)."""
        shown = {k: self.text(v) if isinstance(v, Text | TextList) else v
                 for k, v in values.items()}
        return _fill(self._catalogue.gettext(message), shown)

    def text(self, value: object) -> str:
        """``value`` in this language when it is a ``Text`` or ``TextList``, else as it is."""
        if isinstance(value, Text):
            return self.gettext(value.msgid, **value.values)
        if isinstance(value, TextList):
            return ", ".join(self.text(item) if isinstance(item, Text) else self.gettext(item)
                             for item in value.items)
        return str(value)

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        """Singular or plural form for ``n``; ``{n}`` is ``n`` formatted for the locale."""
        values.setdefault("n", self.integer(n))
        return _fill(self._catalogue.ngettext(singular, plural, n), values)

    def integer(self, value: int | float) -> str:
        """A count with the locale's grouping: ``1 234`` (fi), ``1,234`` (en)."""
        return numbers.format_decimal(round(value), format="#,##0", locale=self.locale)

    def number(self, value: float, decimals: int = 1) -> str:
        """A decimal with exactly ``decimals`` digits: ``1 234,5`` (fi), ``1,234.5`` (en)."""
        pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
        return numbers.format_decimal(value, format=pattern, locale=self.locale,
                                      decimal_quantization=True)

    def percent(self, value: float, decimals: int = 1) -> str:
        """A percentage given on the 0-100 scale: ``12,5 %`` (fi), ``12.5%`` (en)."""
        # The locale's own pattern keeps its spacing ("12,5 %" in Finnish).
        pattern = Locale.parse(self.locale).percent_formats[None].pattern
        digits = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
        return numbers.format_percent(value / 100.0, format=pattern.replace("#,##0", digits, 1),
                                      locale=self.locale, decimal_quantization=True)

    def date(self, value: dt.date | str | None) -> str:
        """A date: ``1.12.2026`` (fi), ``Dec 1, 2026`` (en); ISO text is parsed first."""
        if value is None or value == "":
            return "—"
        if isinstance(value, str):
            value = dt.date.fromisoformat(value[:10])
        return dates.format_date(value, format="medium", locale=self.locale)

    def datetime(self, value: dt.datetime | str) -> str:
        """A date and time to the minute, in the locale's order."""
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        return dates.format_datetime(value, format="short", locale=self.locale)

    @property
    def decimal_symbol(self) -> str:
        return numbers.get_decimal_symbol(self.locale)

    @property
    def group_symbol(self) -> str:
        return numbers.get_group_symbol(self.locale)

    @property
    def language_name(self) -> str:
        return Locale.parse(self.locale).get_display_name(self.locale) or self.locale


@functools.lru_cache(maxsize=len(LOCALES))
def translator(locale: str | None = None) -> Translator:
    """The translator of ``locale`` (normalized; unknown locales get English)."""
    return Translator(normalize_locale(locale))
