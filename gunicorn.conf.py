"""gunicorn settings, all from the app's IOCOHORT_* settings (see README).

gthread workers: ``IOCOHORT_WORKERS`` processes with ``IOCOHORT_THREADS`` threads each.
The app is not preloaded: each worker builds it after the fork, so DuckDB connections and
background threads are never shared across a fork. The master checks the settings and seeds
the demo users once before any worker starts (workers would otherwise race to create them).
Access log: the Apache/NCSA Combined Log Format on stdout.
"""

from __future__ import annotations

from config import settings_from_env

_settings = settings_from_env()

bind = [f"{_settings.host}:{_settings.port}"]
workers = _settings.workers
threads = _settings.threads
worker_class = "gthread"
preload_app = False
# A cold analysis on a large snapshot can take several seconds; a worker is only killed when
# it stops answering gunicorn's heartbeat for this long.
timeout = 120
graceful_timeout = 30
keepalive = 5
accesslog = "-"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'
errorlog = "-"
loglevel = "info"
proc_name = "iocohort"
# No runtime control socket: it would be one fixed path shared by every instance on the host.
control_socket_disable = True


def on_starting(server) -> None:  # noqa: ANN001 - gunicorn's Arbiter
    """Refuse unsafe settings before forking, and create the demo users once."""
    from access.auth import InsecureSettingsError, check_production_settings, seed_demo_users

    try:
        check_production_settings(_settings)
    except InsecureSettingsError as exc:
        raise SystemExit(f"iocohort: {exc}") from None
    seed_demo_users(_settings)
