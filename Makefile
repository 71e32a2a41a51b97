.PHONY: setup demo test lint

PORT ?= 8000
SINGLE ?=
comma := ,
# Installed once, again only when pyproject.toml changes (or after `rm .venv/.installed`).
INSTALLED := .venv/.installed

setup: $(INSTALLED)

$(INSTALLED): pyproject.toml
	python3 -m venv .venv
	.venv/bin/pip install -q -e ".[dev]"
	@.venv/bin/pip install -q -e ".[video]" 2>/dev/null || echo "note: vPDQ (video hashing) did not build; install cmake, pkg-config and the FFmpeg -dev packages (see pyproject.toml) and run make setup again; video tests are skipped until then"
	@touch $@
	@echo "installed: source .venv/bin/activate puts taskforce on your PATH (or run .venv/bin/taskforce)"

# The ports are checked before anything is installed or built (a server answering on one of
# them): a clear message naming the port, not a traceback from the server minutes later. The
# demo's three nodes (NL, GB, the coordinator's) listen on PORT, PORT+1 and PORT+2;
# `make demo SINGLE=1` builds the demo node alone, on PORT.
demo:
	@busy=$$(python3 -c 'import socket, sys; p = int(sys.argv[1]); n = 1 if sys.argv[2] else 3; \
		print(next((q for q in range(p, p + n) if socket.socket().connect_ex(("127.0.0.1", q)) == 0), ""))' $(PORT) "$(SINGLE)"); \
		if [ -n "$$busy" ]; then echo "error: port $$busy is in use on 127.0.0.1$(if $(SINGLE),, (the demo's three nodes take PORT$(comma) PORT+1$(comma) PORT+2)); choose another: make demo PORT=$$(( $(PORT) + $(if $(SINGLE),1,3) ))" >&2; exit 1; fi
	@$(MAKE) --no-print-directory setup
	.venv/bin/taskforce demo --port $(PORT) $(if $(SINGLE),--single-node)

test: setup
	.venv/bin/pytest -n 2

lint:
	.venv/bin/ruff check src tests benchmarks
	.venv/bin/ruff format --check src tests benchmarks
	.venv/bin/mypy src tests
	.venv/bin/lint-imports
