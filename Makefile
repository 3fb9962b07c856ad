# oauth-console: `make run` to try it, `make test` to check it.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test fuzz mutation lint format bench clean venv serve demo

venv: $(STAMP)

# Reinstall whenever a requirements file changes.
$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed: $(PYTHON) was not found (set PYTHON=/path/to/python3.11)."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# Development server with demo data: http://127.0.0.1:8000/, and the task worker beside it (every queue;
# it stops with the server, Ctrl-C).
run: $(STAMP)
	DEBUG=1 $(BIN)/python manage.py migrate --no-input
	DEBUG=1 $(BIN)/python manage.py seed_demo
	DEBUG=1 $(BIN)/python manage.py db_worker --queue-name '*' & worker=$$!; \
		trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
		DEBUG=1 $(BIN)/python manage.py runserver 127.0.0.1:8000

# Branch-coverage floors (percent) per package, checked after the suite passes: a few points under what the
# suite measures on SQLite and on PostgreSQL. "server" counts server/ without server/oauth2/, which has its own.
# A run of part of the suite (PYTEST_ARGS=tests/console) cannot meet them: add COVERAGE_FLOORS= to skip them.
COVERAGE_FLOORS ?= server/oauth2:88 server:89 oauth_console:91
COVERAGE := $(BIN)/python -m coverage

# Test processes (pytest-xdist): one per core, at most 4 (each has its own test database and browser).
# TEST_WORKERS=0 runs the suite in this one process.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -gt 4 ] && n=4; echo $$n)

# The whole suite: SQLite by default, PostgreSQL when DATABASE_URL is set. Coverage data (and the report of
# `python -m coverage html`) go to test-artifacts/coverage/, ignored by git. `--dist load` hands each
# process the tests in the order pytest-django sorted them, so a process meets the tests that empty the
# database (transaction=True) only after every test that reads the migrations' rows (the console's groups).
test: $(STAMP)
	@mkdir -p test-artifacts/coverage
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist load --cov=server --cov=oauth_console --cov-branch \
		--cov-report=term-missing:skip-covered $(PYTEST_ARGS)
	@failed=""; for floor in $(COVERAGE_FLOORS); do \
		pkg=$${floor%%:*}; min=$${floor##*:}; omit=""; \
		[ "$$pkg" = server ] && omit="--omit=server/oauth2/*,*/migrations/*"; \
		total=$$($(COVERAGE) report --include="$$pkg/*" $$omit --format=total --precision=1); \
		if $(COVERAGE) report --include="$$pkg/*" $$omit --fail-under=$$min >/dev/null; then \
			echo "coverage $$pkg: $$total% (floor $$min%)"; \
		else echo "coverage $$pkg: $$total% is under its floor of $$min%"; failed=1; fi; \
	done; [ -z "$$failed" ] || { echo "Coverage fell under a floor (ran part of the suite? add COVERAGE_FLOORS=)."; exit 1; }

# The property tests with a long random search (the suite runs a short, fixed one).
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -o timeout=0 -p no:cov tests/properties tests/security/test_fuzzing.py $(PYTEST_ARGS)

# Mutation testing of the security core ([tool.mutmut] in pyproject.toml, docs/testing.md): slow, so not
# part of `make test`. MUTANTS picks mutants by name, e.g. make mutation MUTANTS='server.ratelimit*'.
# Results are kept in mutants/ (ignored by git): a second run re-tests only the functions that changed.
# The gate: every surviving mutant is killed by a test or explained in tests/mutation_survivors.txt.
MUTANTS ?=
MUTATION_CHILDREN ?= 2
mutation: $(STAMP)
	nice $(BIN)/mutmut run --max-children $(MUTATION_CHILDREN) $(MUTANTS)
	@mkdir -p test-artifacts/mutation
	@$(BIN)/mutmut results --all true > test-artifacts/mutation/results.txt
	@awk -F': ' '{ name = $$1; sub(/^ +/, "", name); module = name; sub(/\.x(_|ǁ).*/, "", module); \
		total[module]++; \
		if ($$2 ~ /^(killed|timeout|segfault|caught by type check)$$/) killed[module]++; \
		else if ($$2 ~ /^(survived|no tests)$$/) survived[module]++; else other[module]++ } \
		END { for (m in total) printf "%-38s %8d %7d %9d %6d\n", m, total[m], killed[m], survived[m], other[m] }' \
		test-artifacts/mutation/results.txt | LC_ALL=C sort \
		| { printf "%-38s %8s %7s %9s %6s\n" module mutants killed survived other; cat; }
	@awk -F': ' '$$2 ~ /^(survived|no tests|suspicious)$$/ { sub(/^ +/, "", $$1); print $$1 }' \
		test-artifacts/mutation/results.txt | LC_ALL=C sort > test-artifacts/mutation/survivors.txt
	@sed -e 's/#.*//' -e 's/[[:space:]]*$$//' -e '/^$$/d' tests/mutation_survivors.txt | LC_ALL=C sort \
		> test-artifacts/mutation/explained.txt
	@unexplained=$$(comm -23 test-artifacts/mutation/survivors.txt test-artifacts/mutation/explained.txt); \
	if [ -n "$$unexplained" ]; then \
		echo "Surviving mutants that no test kills and tests/mutation_survivors.txt does not explain:"; \
		echo "$$unexplained" | sed 's/^/    /'; \
		echo "See one with: $(BIN)/mutmut show NAME. Kill it with a test, or explain it in that file."; exit 1; \
	fi; echo "Every surviving mutant is explained in tests/mutation_survivors.txt."

# Style (ruff) and the layer contracts of pyproject.toml's [tool.importlinter] (import-linter).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# wrk drives the load (Debian's package); installed here when missing and apt-get can run.
bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }; } || true
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) staticfiles test-artifacts .pytest_cache
