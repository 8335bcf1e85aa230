# The two commands: `make demo` and `make test`. Everything else is detail.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# pytest-xdist processes for `make test`: the suite mostly waits (child processes,
# sockets, timeouts it must outlast), so two halve it even on two cores; 0 = one process.
PYTEST_WORKERS ?= 2

.PHONY: demo test bench lint format lock audit messages browser-deps nginx-deps screenshots clean

# Exactly the locked versions, each checked against its hash; then Chatportal,
# with no dependency resolution of its own. pip goes first, at its locked
# version: the venv's own older pip (23.x) refuses a hashed lock whenever a
# package asks for an extra (pip-audit wants CacheControl[filecache]) and a
# newer release than the locked one exists on the index.
PIP_ENTRY := awk '/^pip==/ {keep = 1; print; next} keep && /^ / {print; next} {keep = 0}'
$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP_ENTRY) requirements.lock > $(VENV)/pip.lock
	$(BIN)/pip install --quiet --require-hashes -r $(VENV)/pip.lock
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/chatportal demo --host 127.0.0.1 --port 8000

# Debian's Chromium for the browser tests (never a browser download by a test tool).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  command -v apt-get >/dev/null 2>&1 && (apt-get update -qq && apt-get install -y -qq chromium) \
	  || echo "chromium missing: install Debian's chromium package for the browser tests"; }

# Debian's nginx for the scale-out test that drives sockets through deploy/nginx.conf.
nginx-deps:
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { \
	  command -v apt-get >/dev/null 2>&1 && (apt-get update -qq && apt-get install -y -qq nginx-light) \
	  || echo "nginx missing: install Debian's nginx-light package for the scale-out test"; }

test: $(STAMP) browser-deps nginx-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -n $(PYTEST_WORKERS) --alone=skip $(PYTEST_ARGS)
	@# Then the tests marked `alone` (latency bounds under a burst), with the machine to
	@# themselves; pytest's 5 means "none selected here" (the SQLite pass has none).
	$(BIN)/pytest --alone=only $(PYTEST_ARGS); status=$$?; [ $$status -eq 0 ] || [ $$status -eq 5 ]

# docs/screenshots/{widget,console,portal,ticket,contact,widget-mobile}.png from the embedded demo server and Chromium.
screenshots: $(STAMP) browser-deps
	env -u DATABASE_URL -u REDIS_URL $(BIN)/python -m tests.browser.screenshots --out docs/screenshots

# The standard benchmark (bench/standard.py): Chatportal beside a bare websockets relay and a
# Channels-tutorial app, on the PostgreSQL and Redis that DATABASE_URL and REDIS_URL name (the
# local ones by default), three repeats; rewrites its section of docs/benchmarks.md and
# docs/benchmarks-latency.svg. BENCH_ARGS="--quick --repeats 1" for a smoke run. Then the
# capacity targets (bench/targets.py: hello rate, reconnect storm, idle sockets, portal fan-out,
# 10 minutes of the whole box), measured vs target into its own section; TARGETS_ARGS="--quick".
BENCH_ARGS ?=
TARGETS_ARGS ?=
bench: $(STAMP)
	$(BIN)/python bench/standard.py $(BENCH_ARGS)
	$(BIN)/python bench/targets.py $(TARGETS_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The ro and ru catalogs in chatportal/locale/ (shipped inside the package): extract every
# marked string (existing translations kept, new ones empty, gone ones dropped), then compile
# the .mo files that are committed with them. compilemessages runs from chatportal/ without
# settings, so it compiles that package's catalogs only (never the virtualenv's) and creates
# no data directory.
MESSAGE_DIRS_IGNORED := --ignore 'tests/*' --ignore 'bench/*' --ignore 'var/*' --ignore 'build/*' --ignore 'deploy/*' --ignore 'docs/*'
messages: $(STAMP)
	$(BIN)/python manage.py makemessages --locale ro --locale ru --no-obsolete $(MESSAGE_DIRS_IGNORED)
	cd chatportal && env -u DJANGO_SETTINGS_MODULE $(abspath $(BIN))/django-admin compilemessages --locale ro --locale ru


# requirements.lock: every package (runtime + the dev extra) at one version, with
# the hashes of its files, for every platform and Python >= 3.11. The venv above,
# CI (.ci/run runs `make test`) and deploy/Dockerfile all install from it; `audit`
# checks it. Rerun after changing dependencies in pyproject.toml (versions
# already locked are kept where they still fit); `make lock LOCK_ARGS=--upgrade`
# moves everything to the newest allowed versions.
LOCK_ARGS ?=
lock: $(STAMP)
	$(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	  --extra dev --custom-compile-command "make lock" $(LOCK_ARGS) \
	  pyproject.toml -o requirements.lock

# Known vulnerabilities in the locked versions (PyPI's advisory data). --strict: a package
# that could not be looked up fails the audit instead of passing unchecked.
audit: $(STAMP)
	$(BIN)/pip-audit -r requirements.lock --require-hashes --disable-pip --strict --progress-spinner off

clean:
	rm -rf $(VENV) var .pytest_cache
