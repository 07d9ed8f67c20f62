"""Schema-driven fuzzing of the staff API (issue 12): schemathesis generates requests from the API's own
OpenAPI document (valid, invalid and boundary values for every parameter and body; then chains of
calls along the document's links) and sends them to the real app - `python -m staffapi`, as the
launcher runs it, with catalogue routes, static consoles and scheduler - on a real Redis.

Asserted: no 5xx response at all, and no failed schemathesis check: responses match the documented
status codes, content types, headers and schemas; schema-invalid input is refused with a 4xx;
unsupported methods get 405 with Allow; authenticated routes refuse requests without a token.
Not asserted: `positive_data_acceptance` (schema-valid input may still be refused by rules a schema
cannot state: the state machine, directory unit ids, 即时答复 only for consultations...).

Bounded: GOVDESK_FUZZ_EXAMPLES examples per operation (default 25: about 20 s here, 55 s with both
cores busy); GOVDESK_FUZZ_SEED varies the run (default fixed, so a failure reproduces);
GOVDESK_FUZZ_ROLE picks the account whose token the fuzzer sends (default admin: every route open).
"""
from __future__ import annotations

import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from common.settings import ROOT
from workorders import auth

EXAMPLES = int(os.environ.get("GOVDESK_FUZZ_EXAMPLES", "25"))
SEED = int(os.environ.get("GOVDESK_FUZZ_SEED", "20260312"))
FUZZ_DB = 15  # its own Redis database: the fuzzer's orders never meet other tests' data
SECRET = "fuzz-token-secret"
ROLE = os.environ.get("GOVDESK_FUZZ_ROLE", "admin")
USERS = [{"username": f"fuzz-{role}", "password": f"fuzz-{role}-password", "role": role,
          **({"unit_id": "C01T01-gongan"} if role == "unit_handler" else {})} for role in auth.ROLES]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeRasa(http.server.BaseHTTPRequestHandler):
    """Rasa's REST channel for POST /api/bot/message: one reply to anything."""

    def do_POST(self):  # noqa: N802 - http.server API
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps([{"recipient_id": "fuzz", "text": "您好"}]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def live_api(redis_server, tmp_path):
    import redis

    url = redis_server.url_for(FUZZ_DB)
    redis.Redis.from_url(url).flushdb()
    rasa = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeRasa)
    threading.Thread(target=rasa.serve_forever, daemon=True).start()
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT), REDIS_URL=url, STAFF_API_HOST="127.0.0.1",
               STAFF_API_PORT=str(port), GOVDESK_STAFF_USERS=json.dumps(USERS), GOVDESK_TOKEN_SECRET=SECRET,
               RASA_URL=f"http://127.0.0.1:{rasa.server_address[1]}", LOG_LEVEL="WARNING")
    env.pop("GOVDESK_DEMO", None)
    log_path = tmp_path / "staff-api.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "staffapi"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"staff API did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        yield base, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        rasa.shutdown()
        redis.Redis.from_url(url).flushdb()


def test_schemathesis_finds_no_server_error_and_no_contract_violation(live_api, tmp_path):
    base, log_path = live_api
    user = auth.load_users([u for u in USERS if u["role"] == ROLE])[f"fuzz-{ROLE}"]
    token, _ = auth.TokenSigner(SECRET.encode()).issue(user)
    events = tmp_path / "events.ndjson"
    cmd = [sys.executable, "-m", "schemathesis.cli", "run", f"{base}/api/openapi.json",
           "--header", f"Authorization: Bearer {token}",
           "--checks", "all", "--exclude-checks", "positive_data_acceptance",
           "--phases", "examples,coverage,fuzzing,stateful", "--max-examples", str(EXAMPLES),
           "--seed", str(SEED), "--workers", "1",  # threads: CPython 3.11's ast.parse is not thread-safe
           "--request-timeout", "30", "--suppress-health-check", "all",
           "--report", "ndjson", "--report-ndjson-path", str(events)]
    started = time.monotonic()
    run = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, NO_COLOR="1", COLUMNS="160"))
    elapsed = time.monotonic() - started
    report = run.stdout + run.stderr
    print(report[-4000:])
    statuses = [int(s) for s in re.findall(r'"status_code":\s*(\d{3})', events.read_text(errors="replace"))]
    server_errors = [s for s in statuses if s >= 500]
    log = log_path.read_text(errors="replace")
    assert len(statuses) > 20 * EXAMPLES, f"too few requests were made ({len(statuses)}):\n{report[-3000:]}"
    assert not server_errors, f"{len(server_errors)} 5xx responses:\n{report[-6000:]}"
    assert "unhandled error" not in log, log[-6000:]   # the API's last-resort handler (a 500) never ran
    assert run.returncode == 0, f"schemathesis found failures (in {elapsed:.0f} s):\n{report[-8000:]}"
