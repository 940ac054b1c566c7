# careclub — the two quick-start commands are `make run` and `make test`.
# Without DATABASE_URL / REDIS_URL both start an embedded PostgreSQL and Redis under .data/.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint typecheck check messages worker doctor bench clean-data

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## make run: migrate, apply every tenants/*.toml with demo users, serve on http://127.0.0.1:$${PORT:-8000}
run: install
	CARECLUB_DEMO=1 LOG_JSON=$${LOG_JSON:-0} $(VENV)/bin/careclub serve --apply-tenants --with-worker

## make test: the whole suite against real PostgreSQL and Redis (embedded unless configured)
test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check src tests bench migrations

typecheck: install
	$(VENV)/bin/mypy

check: lint typecheck test

worker: install
	$(VENV)/bin/careclub worker

doctor: install
	$(VENV)/bin/careclub doctor

bench: install
	$(VENV)/bin/careclub bench

# An error's first argument is its message: extracted like a gettext call (tests/unit/core/test_error_messages.py
# checks every error class is listed).
ERROR_KEYWORDS := -k AppError -k ValidationFailed -k NotFound -k Conflict -k Unauthorized -k Forbidden \
	-k RateLimited -k BadInput -k UnsupportedFile -k CheckinRefused -k OnlinePaymentsUnavailable -k ProviderUnavailable \
	-k OperatorRoleMissing -k PolicyProblem -k RowsRefused -k TransitionNotAllowed -k StaleState

## make messages: extract strings and update the zh_CN / en catalogs
messages: install
	$(VENV)/bin/pybabel extract --no-location --sort-output -F babel.cfg $(ERROR_KEYWORDS) -o web/locale/messages.pot src web/templates
	$(VENV)/bin/pybabel update -i web/locale/messages.pot -d web/locale -D messages --no-fuzzy-matching

clean-data:
	rm -rf .data
