"""A local fake of WeChat's servers, faithful to the published API behaviour.

  GET  /cgi-bin/token?grant_type=client_credential&appid&secret  -> {access_token, expires_in: 7200}
       wrong appid/secret -> {errcode: 40013 | 40125}
  POST /cgi-bin/message/custom/send?access_token=…  {touser, msgtype: text, text: {content}}
       unknown token -> 40001, expired token -> 42001, user outside the 48-hour window -> 45015,
       otherwise {errcode: 0, errmsg: "ok"} and the message is recorded
  GET  /cgi-bin/media/get?access_token&media_id -> the audio (audio/amr here a WAV), or 40007
  GET  /sns/jscode2session?appid&secret&js_code&grant_type=authorization_code
       -> {openid, session_key}; unknown code 40029, reused code 40163 (text/plain, like WeChat)
  POST /api/utterance  (stand-in for the voice gateway's HTTP upload: runs the turn on Rasa)

Runs an aiohttp server in a background thread with its own event loop so it is
usable from synchronous tests and outlives any one test's event loop.
"""
from __future__ import annotations

import asyncio
import io
import json
import secrets
import socket
import threading
import time
import wave

from aiohttp import ClientSession, web


def make_wav(seconds: float = 0.5, rate: int = 8000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * int(seconds * rate))
    return buf.getvalue()


class FakeWeChat:
    def __init__(self, appid: str, secret: str, mini_appid: str, mini_secret: str):
        self.appid, self.secret = appid, secret
        self.mini_appid, self.mini_secret = mini_appid, mini_secret
        self.lock = threading.Lock()
        self.tokens: dict[str, float] = {}          # token -> expires_at
        self.token_calls = 0
        self.expires_in = 7200
        self.window_closed: set[str] = set()        # openids outside the 48-hour window
        self.delivered: list[dict] = []
        self.refused: list[dict] = []
        self.codes: dict[str, str] = {}             # js_code -> openid (single use)
        self.used_codes: set[str] = set()
        self.media: dict[str, bytes] = {}
        self.transcript = "我想办残疾证"
        self.utterances: list[dict] = []
        self.voice_up = True
        self.rasa_url = ""                          # set once the stack is up
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # -------------------------------------------------------- test controls
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def expire_tokens(self) -> None:
        """Every issued token is now expired (the next API call gets 42001)."""
        with self.lock:
            for t in self.tokens:
                self.tokens[t] = time.time() - 1

    def issue_code(self, openid: str) -> str:
        code = secrets.token_hex(16)
        with self.lock:
            self.codes[code] = openid
        return code

    def add_media(self, data: bytes) -> str:
        media_id = secrets.token_urlsafe(24)
        with self.lock:
            self.media[media_id] = data
        return media_id

    def messages_to(self, openid: str) -> list[dict]:
        with self.lock:
            return [m for m in self.delivered if m["touser"] == openid]

    def wait_messages(self, openid: str, count: int = 1, timeout: float = 30) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.messages_to(openid)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        return self.messages_to(openid)

    # -------------------------------------------------------- handlers
    @staticmethod
    def _json(data: dict, plain: bool = False) -> web.Response:
        # WeChat serves several endpoints as text/plain JSON.
        return web.Response(text=json.dumps(data, ensure_ascii=False),
                            content_type="text/plain" if plain else "application/json")

    def _check_token(self, token: str | None) -> dict | None:
        with self.lock:
            expires_at = self.tokens.get(token or "")
        if expires_at is None:
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
        if expires_at < time.time():
            return {"errcode": 42001, "errmsg": "access_token expired"}
        return None

    async def token(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("grant_type") != "client_credential":
            return self._json({"errcode": 40002, "errmsg": "invalid grant_type"})
        if q.get("appid") != self.appid:
            return self._json({"errcode": 40013, "errmsg": "invalid appid"})
        if q.get("secret") != self.secret:
            return self._json({"errcode": 40125, "errmsg": "invalid appsecret"})
        token = secrets.token_urlsafe(48)
        with self.lock:
            self.token_calls += 1
            self.tokens[token] = time.time() + self.expires_in
        return self._json({"access_token": token, "expires_in": self.expires_in})

    async def custom_send(self, request: web.Request) -> web.Response:
        err = self._check_token(request.query.get("access_token"))
        raw = await request.read()
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            return self._json({"errcode": 47001, "errmsg": "data format error"})
        if err:
            with self.lock:
                self.refused.append({**body, "errcode": err["errcode"]})
            return self._json(err)
        touser = body.get("touser")
        if body.get("msgtype") != "text" or not isinstance(body.get("text"), dict):
            return self._json({"errcode": 40008, "errmsg": "invalid message type"})
        with self.lock:
            if touser in self.window_closed:
                self.refused.append({**body, "errcode": 45015})
                return self._json({"errcode": 45015, "errmsg": "response out of time limit or subscription is canceled"})
            self.delivered.append({"touser": touser, "content": body["text"].get("content", ""),
                                   "raw": raw.decode("utf-8"), "at": time.time()})
        return self._json({"errcode": 0, "errmsg": "ok"})

    async def media_get(self, request: web.Request) -> web.Response:
        err = self._check_token(request.query.get("access_token"))
        if err:
            return self._json(err, plain=True)
        with self.lock:
            data = self.media.get(request.query.get("media_id", ""))
        if data is None:
            return self._json({"errcode": 40007, "errmsg": "invalid media_id"}, plain=True)
        return web.Response(body=data, content_type="audio/amr",
                            headers={"Content-disposition": 'attachment; filename="voice.amr"'})

    async def jscode2session(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("appid") != self.mini_appid or q.get("secret") != self.mini_secret:
            return self._json({"errcode": 40125, "errmsg": "invalid appsecret"}, plain=True)
        if q.get("grant_type") != "authorization_code":
            return self._json({"errcode": 40002, "errmsg": "invalid grant_type"}, plain=True)
        code = q.get("js_code", "")
        with self.lock:
            if code in self.used_codes:
                return self._json({"errcode": 40163, "errmsg": "code been used"}, plain=True)
            openid = self.codes.pop(code, None)
            if openid is None:
                return self._json({"errcode": 40029, "errmsg": "invalid code"}, plain=True)
            self.used_codes.add(code)
        return self._json({"openid": openid, "session_key": secrets.token_urlsafe(16)}, plain=True)

    async def utterance(self, request: web.Request) -> web.Response:
        """Stand-in for the voice gateway's HTTP upload (docs/voice-protocol.md §3): it
        "transcribes" to self.transcript and runs the turn on the real Rasa as `sender`."""
        audio = await request.read()
        q = request.query
        with self.lock:
            self.utterances.append({"bytes": len(audio), "content_type": request.content_type,
                                    "riff": audio[:4] == b"RIFF", "sender": q.get("sender"),
                                    "channel": q.get("channel"), "audio": q.get("audio")})
            up, text = self.voice_up, self.transcript
        if not up:
            return web.Response(status=503, text="voice gateway down")
        if not audio:
            return web.json_response({"error": "no_audio"}, status=400)
        payload = {"sender": q.get("sender"), "message": text, "metadata": {"channel": q.get("channel")}}
        async with ClientSession() as http:
            from common.privacy import rest_channel_token   # as the real gateway (clients/rasa.py)

            async with http.post(f"{self.rasa_url}/webhooks/rest/webhook", json=payload,
                                 headers={"X-Govdesk-Channel-Token": rest_channel_token()}) as resp:
                replies = await resp.json()
        return web.json_response({"transcript": text, "replies": replies,
                                  "texts": [r["text"] for r in replies if r.get("text")], "error": None})

    # -------------------------------------------------------- lifecycle
    def start(self) -> "FakeWeChat":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            app = web.Application()
            app.router.add_get("/cgi-bin/token", self.token)
            app.router.add_post("/cgi-bin/message/custom/send", self.custom_send)
            app.router.add_get("/cgi-bin/media/get", self.media_get)
            app.router.add_get("/sns/jscode2session", self.jscode2session)
            app.router.add_post("/api/utterance", self.utterance)
            self._runner = web.AppRunner(app)
            self._loop.run_until_complete(self._runner.setup())
            self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._runner.cleanup())

        self._thread = threading.Thread(target=run, name="fake-wechat", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake WeChat server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
