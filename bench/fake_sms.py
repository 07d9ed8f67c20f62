"""A fake of the operator's SMS gateway (an outside service), faithful to the wire format in
clients/sms.py, for tests and benches: the simulated caller "reads" the SMS sent to their phone.

    POST /            Authorization: Bearer <token>  {"phone", "text", "purpose"} -> 200 {"id"}
                      (401 without the token, 400 on a bad body)
    GET  /messages?phone=13812345678   -> {"messages": [{"id", "text", "purpose"}, ...]} (oldest first)

Runs in a thread of the calling process (http.server), so no event loop is involved.
"""
from __future__ import annotations

import json
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class FakeSmsGateway:
    def __init__(self):
        self.token = secrets.token_hex(16)
        self.sent: dict[str, list[dict]] = {}
        self._lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                if self.headers.get("Authorization") != f"Bearer {gateway.token}":
                    return self._reply(401, {"error": "unauthorized"})
                try:
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                    phone, text = str(body["phone"]), str(body["text"])
                except (ValueError, KeyError, TypeError):
                    return self._reply(400, {"error": "bad_request"})
                msg = {"id": secrets.token_hex(6), "text": text, "purpose": body.get("purpose")}
                with gateway._lock:
                    gateway.sent.setdefault(phone, []).append(msg)
                return self._reply(200, {"id": msg["id"]})

            def do_GET(self):
                url = urlparse(self.path)
                phone = (parse_qs(url.query).get("phone") or [""])[0]
                return self._reply(200, {"messages": gateway.messages(phone)})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "FakeSmsGateway":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def env(self) -> dict[str, str]:
        return {"SMS_GATEWAY_URL": self.url, "SMS_GATEWAY_TOKEN": self.token}

    def messages(self, phone: str) -> list[dict]:
        with self._lock:
            return list(self.sent.get(phone, []))

    def last_code(self, phone: str) -> str | None:
        """The 6-digit code of the newest SMS to `phone` (what its holder reads), or None."""
        for msg in reversed(self.messages(phone)):
            m = re.search(r"(?<!\d)\d{6}(?!\d)", msg["text"])
            if m:
                return m.group(0)
        return None
