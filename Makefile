# The README contract: `make run` sets up and starts the product; `make test` runs every test.
PY := .venv/bin/python

.PHONY: setup train run test bench clean

setup:
	@scripts/setup.sh

train: setup
	@$(PY) -m bot.training

run: setup
	@exec $(PY) -m common.launcher

test: setup
	@scripts/test.sh

bench: setup
	@$(PY) -m bench.run_all

clean:
	rm -rf var models/*.tar.gz .pytest_cache
