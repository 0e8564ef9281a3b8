"""The Spark settings (IOCOHORT_SPARK_DRIVER_MEMORY): parsed in config, handed to the session by
the command line, and a bad value is one line and a non-zero exit (no JVM is started here)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from reference_evaluator import SAMPLE_DIR

import cli
from config import SettingError, settings_from_env
from queries.engine.base import EngineUnavailable

FIXTURE = Path(__file__).resolve().parents[1] / "cohorts" / "nsclc_stage4_pdl1_high_ecog01.json"


def _run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


def test_spark_driver_memory_defaults_to_4g_above_sparks_own_1g():
    assert settings_from_env({}).spark_driver_memory == "4g"
    assert settings_from_env({"IOCOHORT_SPARK_DRIVER_MEMORY": " "}).spark_driver_memory == "4g"


@pytest.mark.parametrize(("value", "expected"), [
    ("6g", "6g"), ("6G", "6g"), ("6144m", "6144m"), ("6144MB", "6144m"), ("1t", "1t"),
    ("512m", "512m"), (" 8g ", "8g"), ("2097152k", "2097152k"),
])
def test_spark_driver_memory_takes_a_jvm_size(value, expected):
    settings = settings_from_env({"IOCOHORT_SPARK_DRIVER_MEMORY": value})
    assert settings.spark_driver_memory == expected


@pytest.mark.parametrize("value", ["lots", "4", "4 gigabytes", "-4g", "4.5g", "g", "256m", "0g"])
def test_spark_driver_memory_that_spark_cannot_use_is_refused_naming_the_variable(value):
    with pytest.raises(SettingError, match="IOCOHORT_SPARK_DRIVER_MEMORY") as raised:
        settings_from_env({"IOCOHORT_SPARK_DRIVER_MEMORY": value})
    assert repr(value.strip()) in str(raised.value)


def test_bad_spark_driver_memory_is_one_line_and_nonzero_exit_before_spark_starts(monkeypatch):
    monkeypatch.setenv("IOCOHORT_SPARK_DRIVER_MEMORY", "lots")
    code, out, err = _run_cli(["count", "--engine", "spark", "--snapshot", str(SAMPLE_DIR),
                               str(FIXTURE)])
    assert code == 1
    assert out == ""
    assert err.strip().splitlines() == [
        "iocohort count: IOCOHORT_SPARK_DRIVER_MEMORY must be a memory size such as 4g or "
        "6144m, not 'lots'"]


def test_command_line_starts_spark_with_the_driver_memory_and_master_of_the_settings(
        monkeypatch):
    pytest.importorskip("pyspark", reason="pyspark is not installed (make test installs it)")
    started: list[tuple[str, str | None]] = []

    def fake_session(master, app_name="iocohort", config=None, driver_memory=None):
        started.append((master, driver_memory))
        raise EngineUnavailable("stopped here: no JVM in this test")

    monkeypatch.setenv("IOCOHORT_SPARK_DRIVER_MEMORY", "6g")
    monkeypatch.setenv("IOCOHORT_SPARK_MASTER", "local[1]")
    monkeypatch.setattr("queries.engine.spark.spark_session", fake_session)
    monkeypatch.setattr("queries.engine.spark.active_session", lambda: None)
    monkeypatch.setattr("cli.engines._check_java", lambda: None)
    code, _, err = _run_cli(["count", "--engine", "spark", "--snapshot", str(SAMPLE_DIR),
                             str(FIXTURE)])
    assert code == 1 and "stopped here" in err
    assert started == [("local[1]", "6g")]


def test_engine_help_names_the_spark_settings(capsys):
    with pytest.raises(SystemExit):
        cli.main(["count", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "IOCOHORT_SPARK_MASTER, default local[*]" in help_text
    assert "IOCOHORT_SPARK_DRIVER_MEMORY, default 4g" in help_text
