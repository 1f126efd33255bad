# A newcomer needs two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test install system-deps bench clean

$(BIN)/gateway: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/gateway

## Start the gateway with the embedded defaults (no Redis, texts on the console) and print where to click.
run: install
	$(BIN)/gateway serve

## Install what the suite needs (redis-server, chromium, the Twilio mock) and run every test.
## System packages come first: without apt-get it stops at once, naming what to install.
test: system-deps install
	$(BIN)/python -m pytest

system-deps:
	@scripts/install-system-deps

clean:
	rm -rf $(VENV) .pytest_cache

## What users feel: open-loop chat at fixed rates across two nodes beside the raw Redis pub/sub
## floor (same run), idle sockets, inbound webhooks. BENCH="--quick" or BENCH="--rates 500,1000".
bench: system-deps install
	$(BIN)/python bench/run.py $(BENCH)

.PHONY: bench-cluster
## The chat bench on a Redis Cluster of 1, 2 and 3 shards, with 1 and 2 nodes (bench/cluster.py).
bench-cluster: system-deps install
	$(BIN)/python bench/cluster.py $(BENCH)
