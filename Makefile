.PHONY: setup demo test lint

PORT ?= 8000
# Installed once, again only when pyproject.toml changes (or after `rm .venv/.installed`).
INSTALLED := .venv/.installed

setup: $(INSTALLED)

$(INSTALLED): pyproject.toml
	python3 -m venv .venv
	.venv/bin/pip install -q -e ".[dev]"
	@.venv/bin/pip install -q -e ".[video]" 2>/dev/null || echo "note: vPDQ (video hashing) did not build; install cmake, pkg-config and the FFmpeg -dev packages (see pyproject.toml) and run make setup again; video tests are skipped until then"
	@touch $@
	@echo "installed: source .venv/bin/activate puts taskforce on your PATH (or run .venv/bin/taskforce)"

# The port is checked before anything is installed or built: a clear message, not a traceback
# from the server minutes later.
demo:
	@python3 -c 'import socket, sys; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))' $(PORT) 2>/dev/null \
		|| { echo "error: port $(PORT) is in use on 127.0.0.1; choose another: make demo PORT=8001" >&2; exit 1; }
	@$(MAKE) --no-print-directory setup
	.venv/bin/taskforce demo --port $(PORT)

test: setup
	.venv/bin/pytest -n 2

lint:
	.venv/bin/ruff check src tests benchmarks
	.venv/bin/ruff format --check src tests benchmarks
	.venv/bin/mypy src tests
	.venv/bin/lint-imports
