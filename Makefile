# molbridge — the two commands: `make demo` and `make test` (both set up from nothing first); `make lint`.
VENV ?= .venv
BIN := $(VENV)/bin
SHARED ?= $(abspath ../shared)

.PHONY: setup demo test test-all lint bench clean

setup:
	bash scripts/setup.sh

demo: setup
	$(BIN)/molbridge quickstart --out runs/quickstart
	$(BIN)/molbridge eval text2mol examples/text2mol.tsv
	$(BIN)/molbridge eval mol2text examples/mol2text.tsv --convention whitespace

test: setup
	MOLBRIDGE_SHARED=$(SHARED) $(BIN)/python -m pytest -q -n 2 -m "not slow"

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

test-all: setup
	MOLBRIDGE_SHARED=$(SHARED) $(BIN)/python -m pytest -q -n 2

bench: setup
	MOLBRIDGE_SHARED=$(SHARED) $(BIN)/python benchmarks/bench_eval.py
	MOLBRIDGE_SHARED=$(SHARED) $(BIN)/python benchmarks/bench_retrieval.py
	MOLBRIDGE_SHARED=$(SHARED) $(BIN)/python benchmarks/bench_bm25.py
	$(BIN)/python benchmarks/bench_build.py
	$(BIN)/python benchmarks/bench_cluster.py
	$(BIN)/molbridge retrieve pretrain-gin
	MOLBRIDGE_SHARED=$(SHARED) $(BIN)/python benchmarks/bench_retrieval_quality.py --subset 50
	MOLBRIDGE_SHARED=$(SHARED) $(BIN)/python benchmarks/bench_train.py
	MOLBRIDGE_SHARED=$(SHARED) $(BIN)/python benchmarks/bench_chebi20.py --subset 50 --budget-minutes 8
	MOLBRIDGE_SHARED=$(SHARED) $(BIN)/python benchmarks/bench_3dmolm.py
	MOLBRIDGE_SHARED=$(SHARED) $(BIN)/python benchmarks/bench_sepit.py
	$(BIN)/python benchmarks/bench_quickstart.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build src/*.egg-info
