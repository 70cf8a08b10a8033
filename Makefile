# Two commands a fresh machine needs: `make run` and `make test`. Each builds .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
FLOW ?= kitchen-quiz

.PHONY: run simulate test bench screenshot clean lock relock

# .venv is built from requirements.lock alone: exact versions with their hashes, the same
# on every machine and in CI (pip only; no resolver runs). A changed lock builds it anew.
$(BIN)/leadbot: pyproject.toml requirements.lock
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# Upgrade deliberately: every package to the newest release pyproject.toml's ranges allow,
# for every platform and Python >= 3.11 (uv, pinned in the lock itself). Then `make test`,
# and commit the lock with what changed. `make relock` only follows an edit of
# pyproject.toml, keeping every other pin as it is.
lock: $(BIN)/uv
	$(BIN)/uv pip compile $(LOCK_ARGS) --upgrade

relock: $(BIN)/uv
	$(BIN)/uv pip compile $(LOCK_ARGS)

$(BIN)/uv:  # any .venv built from a lock has it: changing the lock needs no fresh .venv
	$(MAKE) $(BIN)/leadbot

LOCK_ARGS = pyproject.toml --extra dev --group tooling --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command 'make lock' --quiet -o requirements.lock

# The bot: long polling, a SQLite file (leadbot.db). Needs LEADBOT_BOT_TOKEN (from @BotFather).
run: $(BIN)/leadbot
	$(BIN)/leadbot run

# A chat with a shipped flow in the terminal, no Telegram needed.
simulate: $(BIN)/leadbot
	$(BIN)/leadbot simulate $(FLOW) $(if $(LANG_CODE),--lang $(LANG_CODE))

# Where `make test` builds the documentation site to check it: outside the clone, one per
# work tree (so two runs at once do not clean each other's).
SITE ?= $(or $(TMPDIR),/tmp)/leadbot-site-$(notdir $(CURDIR))
# mkdocs-material prints a banner about its future on every build; the build is what counts.
# No --quiet: it silences the warnings that --strict counts, and a broken link would pass.
MKDOCS = NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs

test: $(BIN)/leadbot
	$(BIN)/ruff check .
	$(BIN)/leadbot lint
	$(MKDOCS) build --strict --site-dir $(SITE)
	$(BIN)/pytest

# The documentation site (docs/, mkdocs.yml) at http://127.0.0.1:8000, rebuilt on changes.
.PHONY: docs
docs: $(BIN)/leadbot
	$(MKDOCS) serve

bench: $(BIN)/leadbot
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/privacy.py
	$(BIN)/python bench/handoff.py
	$(BIN)/python bench/nurture.py
	$(BIN)/python bench/disk.py
	$(BIN)/python bench/reply.py
	$(BIN)/python bench/report.py
	$(BIN)/python bench/crm.py
	$(BIN)/python bench/scale.py

# docs/dashboard.png, the README's picture: the funnel page with demo data in Chromium (and
# the Money page's, the home page's).
screenshot: $(BIN)/leadbot
	LEADBOT_DASHBOARD_SCREENSHOT=docs/dashboard.png $(BIN)/pytest -q \
		tests/web/test_dashboard_browser.py
	LEADBOT_MONEY_SCREENSHOT=docs/money.png $(BIN)/pytest -q tests/web/test_money_browser.py
	LEADBOT_HOME_SCREENSHOT=docs/img/home.png $(BIN)/pytest -q tests/web/test_home_browser.py
	LEADBOT_LEAD_SCREENSHOT=docs/img/lead.png $(BIN)/pytest -q tests/web/test_lead_browser.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
