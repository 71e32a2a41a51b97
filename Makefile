.PHONY: setup demo test lint

setup:
	python3 -m venv .venv
	.venv/bin/pip install -q -e ".[dev]"

demo: setup
	.venv/bin/taskforce demo

test: setup
	.venv/bin/pytest -n 2

lint:
	.venv/bin/ruff check src tests benchmarks
	.venv/bin/mypy src
	.venv/bin/lint-imports
