# The two quick-start commands: `make demo` runs the example suites, `make test` runs the
# project's tests. Each sets up its own virtual environment first; nothing else is needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# A .venv made before the distribution was renamed holds it as "llmtest": one plugin only.
	@$(BIN)/python -m pip uninstall --quiet --yes llmtest 2>/dev/null || true
	$(BIN)/python -m pip install --quiet -e '.[test,local]'
	touch $@

demo: $(BIN)/.installed
	@cd examples/quickstart && ../../$(BIN)/pytest -v -p no:cacheprovider --llm-cache off \
		--llm-results runs/demo.jsonl; \
	status=$$?; [ $$status -le 1 ] || exit $$status; \
	echo; echo "Quickstart finished: one case fails on purpose (largest-planet-expected-failure); its report is above."; \
	../../$(BIN)/llmtest report runs/demo.jsonl --html runs/demo.html --markdown runs/demo.md >/dev/null || exit 2
	@echo; echo "Now the support bot: retrieval (SQLite FTS5) + the same local model, tested through the callable adapter."
	@cd examples/support_bot && ../../$(BIN)/pytest -v -p no:cacheprovider --llm-cache off \
		--llm-results runs/demo.jsonl && \
	../../$(BIN)/llmtest report runs/demo.jsonl --html runs/demo.html >/dev/null
	@echo; echo "Reports: examples/quickstart/runs/demo.html (and demo.md), examples/support_bot/runs/demo.html"

test: $(BIN)/.installed
	$(BIN)/pytest -n auto -q; status=$$?; [ $$status -eq 5 ] && status=0; exit $$status

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
