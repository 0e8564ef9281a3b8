"""Settings from the environment, read once by the composition root."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEFAULT_SECRET_KEY = "dev-only-insecure-secret-key"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
# A JVM memory size as Spark reads it: a whole number and a unit (k, m, g, t; b optional).
_MEMORY_SIZE = re.compile(r"(\d+)\s*([kmgt])b?", re.IGNORECASE)
_MEMORY_UNIT_MB = {"k": 1 / 1024, "m": 1, "g": 1024, "t": 1024 * 1024}
# Below this a local Spark refuses to start ("System memory ... must be at least 471859200").
_MIN_SPARK_DRIVER_MB = 512


class SettingError(ValueError):
    """An IOCOHORT_* variable has a value that cannot be used; the message names it."""


@dataclass(frozen=True)
class Settings:
    """Runtime settings; every field can be set with an IOCOHORT_* variable."""

    secret_key: str = DEFAULT_SECRET_KEY
    snapshots_dir: Path = ROOT / "data"
    cache_dir: Path = ROOT / "var" / "cache"
    store_path: Path = ROOT / "var" / "app.sqlite"
    host: str = "127.0.0.1"
    port: int = 8050
    demo: bool = False
    debug: bool = False
    # Reverse proxies in front of the app (each sets X-Forwarded-For/-Proto/-Host), 0: none.
    proxies: int = 0
    # gunicorn: worker processes (each opens the snapshots read-only after fork) and threads
    # per worker; DuckDB work releases the GIL, so threads serve concurrent users in a worker.
    workers: int = 2
    threads: int = 4
    # Per worker: derived tables kept in memory (cohorts, analysis bases), cached analysis
    # results, and DuckDB's own memory_limit (tables plus query working memory).
    # On 1M patients the default index event's population, analysis base and AE events take
    # ~0.6 GB uncompressed: the table budget must hold them, or every new cohort rebuilds them.
    cache_mb: int = 768
    results_mb: int = 64
    duckdb_memory_mb: int = 1536
    # Where `--engine spark` runs: local[*] (this machine) or a cluster's master URL.
    spark_master: str = "local[*]"
    # The Spark driver's JVM heap. In local mode the driver is the whole of Spark (it runs the
    # tasks too), and on a cluster it builds the broadcast side of every join: Spark's own 1g
    # fails at 1M patients. 4g holds the 1M-patient bench with room; the JVM only takes what
    # it uses, and a fixed size behaves the same on every machine (unlike a share of its RAM).
    spark_driver_memory: str = "4g"

    @property
    def is_local(self) -> bool:
        """Only this machine can reach the app (bound to localhost, no proxy in front)."""
        return self.host in LOCAL_HOSTS and self.proxies == 0


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def settings_from_env(env: dict[str, str] | None = None) -> Settings:
    """Build Settings from IOCOHORT_* environment variables."""
    env = dict(os.environ if env is None else env)
    defaults = Settings()
    return Settings(
        secret_key=env.get("IOCOHORT_SECRET_KEY", defaults.secret_key),
        snapshots_dir=Path(env.get("IOCOHORT_SNAPSHOTS_DIR", defaults.snapshots_dir)),
        cache_dir=Path(env.get("IOCOHORT_CACHE_DIR", defaults.cache_dir)),
        store_path=Path(env.get("IOCOHORT_STORE", defaults.store_path)),
        host=env.get("IOCOHORT_HOST", defaults.host),
        port=_count(env, "IOCOHORT_PORT", defaults.port),
        demo=_flag(env.get("IOCOHORT_DEMO")),
        debug=_flag(env.get("IOCOHORT_DEBUG")),
        proxies=_count(env, "IOCOHORT_PROXIES", defaults.proxies),
        workers=max(1, _count(env, "IOCOHORT_WORKERS", defaults.workers)),
        threads=max(1, _count(env, "IOCOHORT_THREADS", defaults.threads)),
        cache_mb=_count(env, "IOCOHORT_CACHE_MB", defaults.cache_mb),
        results_mb=_count(env, "IOCOHORT_RESULTS_MB", defaults.results_mb),
        duckdb_memory_mb=max(64, _count(env, "IOCOHORT_DUCKDB_MEMORY_MB",
                                        defaults.duckdb_memory_mb)),
        spark_master=env.get("IOCOHORT_SPARK_MASTER", "").strip() or defaults.spark_master,
        spark_driver_memory=_spark_memory(env, "IOCOHORT_SPARK_DRIVER_MEMORY",
                                         defaults.spark_driver_memory),
    )


def _spark_memory(env: dict[str, str], name: str, default: str) -> str:
    """A JVM memory size (``4g``, ``6144m``) from ``env[name]``, in Spark's form (``4g``);
    a clear error naming the variable otherwise."""
    value = env.get(name, "").strip()
    if not value:
        return default
    match = _MEMORY_SIZE.fullmatch(value)
    if match is None:
        raise SettingError(f"{name} must be a memory size such as 4g or 6144m, not {value!r}")
    number, unit = int(match.group(1)), match.group(2).lower()
    if number * _MEMORY_UNIT_MB[unit] < _MIN_SPARK_DRIVER_MB:
        raise SettingError(f"{name} must be at least {_MIN_SPARK_DRIVER_MB}m, not {value!r}")
    return f"{number}{unit}"


def _count(env: dict[str, str], name: str, default: int) -> int:
    """A whole number >= 0 from ``env[name]``; a clear error naming the variable otherwise."""
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise SettingError(f"{name} must be a whole number, not {value!r}") from None
    if number < 0:
        raise SettingError(f"{name} must be 0 or more, not {number}")
    return number
