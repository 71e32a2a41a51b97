.PHONY: setup demo test lint

setup:
	python3 -m venv .venv
	.venv/bin/pip install -q -e ".[dev]"
	@.venv/bin/pip install -q -e ".[video]" 2>/dev/null || echo "note: vPDQ (video hashing) did not build; install cmake, pkg-config and the FFmpeg -dev packages (see pyproject.toml) and run make setup again; video tests are skipped until then"

demo: setup
	.venv/bin/taskforce demo

test: setup
	.venv/bin/pytest -n 2

lint:
	.venv/bin/ruff check src tests benchmarks
	.venv/bin/ruff format --check src tests benchmarks
	.venv/bin/mypy src tests
	.venv/bin/lint-imports
