# Two entry points for a fresh machine (see README):
#   make demo   set everything up and run the main job on the embedded default
#   make test   set everything up and run the whole test suite (lint, types, contracts, pytest);
#               pytest runs against a throw-away PostgreSQL 15 cluster started for it and removed after
# and, for a developer running pytest by hand (docs/development.md):
#   eval "$(make -s postgres)"   start such a cluster and export INTEGRATE_TEST_PG for later runs
#   make postgres-stop           stop and remove it

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test setup lint typecheck contracts pytest postgres postgres-stop pgserver clean browser screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# An editable install leaves the sources without bytecode; where PYTHONDONTWRITEBYTECODE is
	@# set, every command would compile them again at start (0.1 s). A wheel install has it.
	$(BIN)/python -m compileall -q core plugins > /dev/null
	touch $(STAMP)

setup: $(STAMP)

# The demo runs the main job, Zoho CRM → ServiceDesk Plus MSP, in its sandbox: both plugins'
# emulators, seeded with the spec's demo data (specs/demo), started over each time.
demo: $(STAMP)
	$(BIN)/integrate run specs/zoho_crm-servicedesk_msp.yaml --sandbox --fresh

lint: $(STAMP)
	$(BIN)/ruff check core plugins tests bench examples
	$(BIN)/ruff format --check core plugins tests bench examples

# mypy resolves packages by folder name; the core lives in core/ but imports as `integrate`,
# so type-check through a tree of symlinks named as the packages are.
typecheck: $(STAMP)
	rm -rf build/typecheck && mkdir -p build/typecheck
	ln -s ../../core build/typecheck/integrate
	ln -s ../../plugins/files build/typecheck/integrate_files
	ln -s ../../plugins/zoho_crm build/typecheck/integrate_zoho_crm
	ln -s ../../plugins/servicedesk_msp build/typecheck/integrate_servicedesk_msp
	ln -s ../../plugins/salesmanago build/typecheck/integrate_salesmanago
	ln -s ../../plugins/clientsuccess build/typecheck/integrate_clientsuccess
	ln -s ../../plugins/ideolve build/typecheck/integrate_ideolve
	MYPYPATH=build/typecheck $(BIN)/mypy -p integrate -p integrate_files -p integrate_zoho_crm \
	  -p integrate_servicedesk_msp -p integrate_salesmanago -p integrate_clientsuccess \
	  -p integrate_ideolve

contracts: $(STAMP)
	$(BIN)/lint-imports

# pytest runs inside a throw-away PostgreSQL 15 cluster (tests/pgcluster.py): initdb as the
# postgres user, a free port of 127.0.0.1, the URL handed to the tests as INTEGRATE_TEST_PG;
# stopped and removed when pytest ends, however it ends. Its exit code is pytest's.
pytest: $(STAMP)
	$(BIN)/python -m tests.pgcluster run -- $(BIN)/pytest -n 2 -q

# A cluster for a developer's own pytest runs: prints the `export` lines (eval them), and
# stops and removes the one INTEGRATE_TEST_PG_DIR names.
postgres: $(STAMP)
	@$(BIN)/python -m tests.pgcluster start

postgres-stop: $(STAMP)
	@$(BIN)/python -m tests.pgcluster stop

test: browser pgserver lint typecheck contracts pytest

# PostgreSQL 15's server programs (initdb, pg_ctl, postgres) for the tests' throw-away
# cluster: installed from Debian's packages when missing (as root, as CI); no service is used.
PGBIN ?= /usr/lib/postgresql/15/bin
pgserver:
	@if [ ! -x $(PGBIN)/initdb ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15; \
	fi

# The operator page's browser test and screenshots drive Debian's Chromium through Debian's
# chromedriver (Selenium downloads no browser): installed here when missing (as root, as CI).
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	fi

# A PNG of each page of the operator's page, into docs/img/ (docs/operator-page.md shows them).
screenshots: $(STAMP) browser
	$(BIN)/python -m tests.e2e.screenshots docs/img

clean:
	rm -rf $(VENV) build dist *.egg-info .integrate .pytest_cache .mypy_cache .ruff_cache
