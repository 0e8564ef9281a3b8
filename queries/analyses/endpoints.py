"""Real-world time-to-event endpoints: each a definition in words and SQL over the analysis base.

Time zero is the cohort's index date; times are whole days. Every endpoint is computed from the
per-patient parts of ``queries/sql/endpoint_parts.sql`` (columns of the analysis base), so the
options below change an expression, never the base table:

- OS: death from any cause; alive patients censored at last follow-up.
- rwPFS: progression (PD) on a tumour assessment of the index line, or death within
  ``pfs_death_window_days`` after the last adequate assessment; censored at the last adequate
  assessment and, with ``censor_at_next_line``, at the start of the next line when that comes
  first. Patients without an adequate assessment are left out (and counted).
- rwTTD: discontinuation of the index-line regimen (its last drug's end, or the start of the
  next line) or death; patients still on it are censored at last follow-up.
- rwTTNT: start of the next line or death; censored at last follow-up.
- DoR: responders only, from the first CR/PR to progression or death by the rwPFS rules.
- Time to response: the first CR/PR; progression, death, the next line and the last adequate
  assessment censor (the rwPFS time), so this is 1 - KM among assessed patients.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from queries.i18n import DEFAULT_LOCALE, N_, Text, Translator

CONFIRMATION_DAYS = 28
STABLE_DISEASE_MIN_DAYS = 42
DEFAULT_DEATH_WINDOW_DAYS = 60
RESPONSE_MODES = ("confirmed", "unconfirmed")


class Endpoint(StrEnum):
    OS = "os"
    PFS = "pfs"
    TTD = "ttd"
    TTNT = "ttnt"
    DOR = "dor"
    TTR = "ttr"


LABELS: dict[str, str] = {
    "os": N_("Overall survival"),
    "pfs": N_("Real-world progression-free survival (rwPFS)"),
    "ttd": N_("Real-world time to treatment discontinuation (rwTTD)"),
    "ttnt": N_("Real-world time to next treatment (rwTTNT)"),
    "dor": N_("Duration of response (DoR)"),
    "ttr": N_("Time to response"),
}


@dataclass(frozen=True)
class EndpointOptions:
    """The choices inside the endpoint definitions (hashable: part of cache keys)."""

    pfs_death_window_days: int = DEFAULT_DEATH_WINDOW_DAYS
    censor_at_next_line: bool = True
    response: str = "confirmed"  # which CR/PR start a DoR and count as a response in TTR
    landmark_days: int | None = None  # time from day L among patients still followed at L

    def __post_init__(self) -> None:
        if self.landmark_days is not None and (not isinstance(self.landmark_days, int)
                                               or self.landmark_days < 0):
            raise ValueError("landmark_days must be a whole number of days >= 0, not "
                             f"{self.landmark_days!r}")
        if not isinstance(self.pfs_death_window_days, int) or self.pfs_death_window_days < 0:
            raise ValueError("pfs_death_window_days must be a whole number of days >= 0, "
                             f"not {self.pfs_death_window_days!r}")
        if self.response not in RESPONSE_MODES:
            raise ValueError(f"response must be one of {RESPONSE_MODES}, not {self.response!r}")


DEFINITION_TEXT = N_("{label}. Time zero: {time_zero}. Event: {event}. Censored: {censoring}. "
                     "Patients: {population}.")


@dataclass(frozen=True)
class EndpointDefinition:
    """An endpoint in words: what starts the clock, what is an event, what censors, who counts.

    The fields are in English; ``text(language)`` gives the whole definition in another
    language (made again from ``options``)."""

    endpoint: str
    label: str
    time_zero: str
    event: str
    censoring: str
    population: str
    left_out: str  # "patients without ..." (completes "N patients without ... were left out")
    options: EndpointOptions = field(default_factory=EndpointOptions, compare=False,
                                     repr=False)

    def text(self, language: Translator | None = None) -> str:
        """The whole definition in ``language``; without one, English ``Text`` (so it can
        still be shown in another language where it is quoted)."""
        if language is None:
            return Text(DEFINITION_TEXT, label=self.label, time_zero=self.time_zero,
                        event=self.event, censoring=self.censoring, population=self.population)
        words = self
        if language.locale != DEFAULT_LOCALE:
            words = definition(self.endpoint, self.options, language)
        return language.gettext(
            DEFINITION_TEXT, label=words.label, time_zero=words.time_zero, event=words.event,
            censoring=words.censoring, population=words.population)


@dataclass(frozen=True)
class EndpointSql:
    """Expressions over the analysis base: who is in the analysis, their time and event."""

    population: str
    time_days: str
    event: str
    params: dict[str, int]


def _response_words(options: EndpointOptions, g: Callable[..., str]) -> str:
    if options.response == "confirmed":
        return g(N_("a CR or PR confirmed by a CR/PR at least {days} days later (RECIST 1.1)"),
                 days=CONFIRMATION_DAYS)
    return g(N_("a CR or PR (unconfirmed)"))


def _pfs_censoring(options: EndpointOptions, g: Callable[..., str]) -> str:
    if options.censor_at_next_line:
        return g(N_("at the last adequate tumour assessment (CR, PR, SD or PD), or at the start "
                    "of the next line when that comes first (progression or death after it "
                    "does not count); never later than last follow-up"))
    return g(N_("at the last adequate tumour assessment (CR, PR, SD or PD); never later than "
                "last follow-up"))


def definition(endpoint: Endpoint | str, options: EndpointOptions | None = None,
               language: Translator | None = None) -> EndpointDefinition:
    """The endpoint's definition in plain words (English unless ``language``), for the plot
    caption and the exports."""
    options = options or EndpointOptions()
    # English words stay Text, so a note quoting them ("patients without ...") can be shown
    # in another language too
    g: Callable[..., str] = language.gettext if language is not None else Text
    ep = Endpoint(endpoint)
    window = options.pfs_death_window_days
    pfs_event = g(N_("progression (PD) on a tumour assessment of the index line after index, or "
                     "death within {window} days after the last adequate assessment"),
                  window=window)
    assessed = g(N_("patients with an adequate tumour assessment (CR, PR, SD or PD) of the "
                    "index line after index"))
    not_assessed = g(N_("an adequate tumour assessment of the index line after index"))
    index_line = g(N_("patients with treatment rows of the index line"))
    on_line = g(N_("treatment rows of the index line (the index is not a treatment start)"))
    index_date = g(N_("index date"))
    response = _response_words(options, g)
    words = {
        Endpoint.OS: (index_date, g(N_("death from any cause")),
                      g(N_("alive patients at their last follow-up")),
                      g(N_("every cohort patient")), g(N_("follow-up after index"))),
        Endpoint.PFS: (index_date, pfs_event, _pfs_censoring(options, g), assessed,
                       not_assessed),
        Endpoint.TTD: (index_date, g(N_("discontinuation of the index-line regimen (the end of "
                                        "its last-ending drug, or the start of the next line if "
                                        "earlier) or death")),
                       g(N_("patients still on the index-line regimen at their last "
                            "follow-up")), index_line, on_line),
        Endpoint.TTNT: (index_date, g(N_("start of the next treatment line, or death")),
                        g(N_("patients without either at their last follow-up")), index_line,
                        on_line),
        Endpoint.DOR: (g(N_("the first response: {response}, before progression"),
                         response=response),
                       pfs_event, _pfs_censoring(options, g), g(N_("responders only")),
                       g(N_("such a response before their rwPFS event or censoring"))),
        Endpoint.TTR: (index_date, g(N_("the first response: {response}"), response=response),
                       g(N_("at the rwPFS event or censoring time when no response came before "
                            "it (progression and death censor: 1 - KM overstates the chance of "
                            "ever responding)")), assessed, not_assessed),
    }[ep]
    if options.landmark_days is not None:
        day = options.landmark_days
        words = (g(N_("day {day} after {start} (landmark)"), day=day, start=words[0]),
                 words[1], words[2],
                 g(N_("{patients}, alive, in follow-up and free of the event at day {day}"),
                   patients=words[3], day=day),
                 g(N_("{patients}, or who were not followed event-free to day {day}"),
                   patients=words[4], day=day))
    return EndpointDefinition(ep.value, g(LABELS[ep.value]), *words, options=options)


def endpoint_sql(endpoint: Endpoint | str, options: EndpointOptions | None = None) -> EndpointSql:
    """The endpoint's population, time and event as expressions over the analysis base."""
    options = options or EndpointOptions()
    ep = Endpoint(endpoint)
    next_line = "next_d" if options.censor_at_next_line else "CAST(NULL AS INTEGER)"
    before_next = f"({next_line} IS NULL OR {{x}} <= {next_line})"
    pd_counts = f"(pd_d IS NOT NULL AND {before_next.format(x='pd_d')})"
    death_counts = (f"(death_d IS NOT NULL AND death_d <= last_d + $death_window "
                    f"AND {before_next.format(x='death_d')})")
    pfs_event = f"({pd_counts} OR {death_counts})"
    pfs_time = (f"(CASE WHEN {pd_counts} THEN least(pd_d, death_d) "
                f"WHEN {death_counts} THEN death_d ELSE least(last_d, {next_line}, fu_d) END)")
    response = "cresp_d" if options.response == "confirmed" else "resp_d"
    responded = f"({response} IS NOT NULL AND {response} <= {pfs_time})"
    discontinued = "least(line_end_d, next_d)"
    params = {"death_window": options.pfs_death_window_days}
    sql = {
        Endpoint.OS: ("fu_d IS NOT NULL", "fu_d", "death_d IS NOT NULL"),
        Endpoint.PFS: ("last_d IS NOT NULL", pfs_time, pfs_event),
        Endpoint.TTD: ("has_line", f"coalesce(least({discontinued}, death_d), fu_d)",
                       f"({discontinued} IS NOT NULL OR death_d IS NOT NULL)"),
        Endpoint.TTNT: ("has_line", "coalesce(least(next_d, death_d), fu_d)",
                        "(next_d IS NOT NULL OR death_d IS NOT NULL)"),
        Endpoint.DOR: (f"last_d IS NOT NULL AND {responded}", f"{pfs_time} - {response}",
                       pfs_event),
        Endpoint.TTR: ("last_d IS NOT NULL",
                       f"(CASE WHEN {responded} THEN {response} ELSE {pfs_time} END)", responded),
    }[ep]
    population, time_days, event = sql
    if options.landmark_days is not None:
        # still at risk at L (alive, followed and event-free), time counted from L
        population = (f"({population}) AND ({time_days}) >= $landmark "
                      "AND fu_d >= $landmark")
        time_days = f"(({time_days}) - $landmark)"
        params["landmark"] = options.landmark_days
    text = population + time_days + event
    return EndpointSql(population, time_days, event,
                       params={k: v for k, v in params.items() if f"${k}" in text})


def endpoint_columns(endpoints: tuple[Endpoint | str, ...],
                     options: EndpointOptions | None = None) -> tuple[str, dict[str, int]]:
    """SELECT items ``<ep>_days, <ep>_event`` per endpoint over the analysis base (NULL for
    patients outside the endpoint's population), with the parameters they use."""
    items, params = [], {}
    for endpoint in endpoints:
        ep = Endpoint(endpoint)
        parts = endpoint_sql(ep, options)
        items.append(f"CASE WHEN {parts.population} THEN CAST({parts.time_days} AS INTEGER) "
                     f"END AS {ep.value}_days, "
                     f"CASE WHEN {parts.population} THEN {parts.event} END AS {ep.value}_event")
        params.update(parts.params)
    return ", ".join(items), params
