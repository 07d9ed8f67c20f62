# One image for every Python service; docker-compose.yml picks the command.
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends espeak-ng sox libsox-fmt-all ffmpeg \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements/ requirements/
RUN python -m venv .venv \
    && .venv/bin/pip install --no-deps -r requirements/lock.txt \
    && .venv/bin/pip install --no-deps --ignore-requires-python -r requirements/rasa.lock
COPY . .
# OpenMP workers sleep instead of spinning (common/settings.py COMPUTE_ENV says why).
ENV PATH=/app/.venv/bin:$PATH PYTHONPATH=/app RASA_TELEMETRY_ENABLED=false OMP_WAIT_POLICY=PASSIVE
RUN python -m bot.training && (python -m voice.asr_model || true)
