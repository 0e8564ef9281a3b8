# Every target sets itself up: a venv with the pinned packages; `test` also installs
# Debian's chromium and chromium-driver, and a Java runtime for Spark (`--engine spark`, the
# engine equality test), when they are missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8050

.PHONY: run test test-spark bench lint sample browser-deps java-deps messages

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

browser-deps:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		echo "installing Debian chromium and chromium-driver"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

# pyspark comes from requirements.lock; Spark itself runs in a JVM.
java-deps:
	@if ! command -v java >/dev/null; then \
		echo "installing Debian default-jre-headless (Java for Spark)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null; \
	fi

# The production server (gunicorn, gunicorn.conf.py), as an operator runs it, in demo mode.
run: $(STAMP)
	IOCOHORT_DEMO=$${IOCOHORT_DEMO:-1} IOCOHORT_HOST=$(HOST) IOCOHORT_PORT=$(PORT) \
		$(VENV)/bin/gunicorn --config gunicorn.conf.py wsgi:app

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# Both suites run on every core (pytest-xdist). For the unit tests --dist loadfile keeps each
# file in one worker, so a file's module fixtures (a generated snapshot, a SparkSession) are built
# once; browser tests have only session fixtures, so --dist load balances them test by test.
# --durations prints the slowest tests, so a slow addition shows in CI.
TEST_WORKERS ?= auto
test: $(STAMP) browser-deps java-deps lint
	$(VENV)/bin/pytest tests/unit -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --durations=25
	$(VENV)/bin/pytest tests/browser -q -p no:cacheprovider -n $(TEST_WORKERS) --dist load --durations=25 \
		--headless --webdriver Chrome \
		--reruns 1 --only-rerun StaleElementReferenceException \
		--only-rerun ElementClickInterceptedException

# Only the DuckDB-vs-Spark equality test (`make test` runs it too, with the other unit tests).
test-spark: $(STAMP) java-deps
	$(VENV)/bin/pytest tests/unit/test_spark_equality.py -q -p no:cacheprovider

# The load test's locust lives in its own venv: it needs urllib3 2, the app's selenium 1.26.
LOAD_VENV := .venv-load
LOAD_STAMP := $(LOAD_VENV)/.installed

$(LOAD_STAMP): bench/load-requirements.lock
	test -x $(LOAD_VENV)/bin/python || $(PYTHON) -m venv $(LOAD_VENV)
	$(LOAD_VENV)/bin/pip install --quiet -r bench/load-requirements.lock
	touch $(LOAD_STAMP)

bench: $(STAMP) $(LOAD_STAMP) java-deps
	$(PY) -m bench.run

sample: $(STAMP)
	$(VENV)/bin/iocohort generate --patients 5000 --seed 20261031 --out data/sample

# Refresh the Finnish catalogue from the source (new msgids appear untranslated; the unit test
# test_i18n fails until each has a Finnish text). Catalogues are compiled when first used.
messages: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg --no-location --sort-output --width=100 \
		--ignore-dirs=".venv data var tests bench synthetic cli" -o translations/messages.pot .
	$(VENV)/bin/pybabel update -i translations/messages.pot -d translations -l fi \
		--no-fuzzy-matching --ignore-obsolete --width=100
