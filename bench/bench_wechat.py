"""WeChat channel numbers: webhook latency of a text message through the real Rasa.

    PYTHONPATH=. .venv/bin/python -m bench.bench_wechat [-n 60] [--reuse-model]

Starts its own stack (embedded Redis, action server, Rasa with credentials.yml,
so the WeChat channels are live) on free ports, then POSTs signed Official Account
text messages (plain and AES safe mode), one at a time, and reports p50/p95 of
the HTTP round trip (signature check, XML, dedup in Redis, Rasa turn, passive reply). Writes docs/benchmarks/wechat.md.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import os
import platform
import secrets
import socket
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.stats import summary_ms
from common.launcher import Stack
from common.settings import MODELS_DIR, ROOT, Ports
from connectors.wechat_crypto import WeChatCrypto, sha1_signature

PHRASES = ["你好", "你是机器人吗", "再说一遍", "谢谢", "我想补办身份证", "低保怎么申请"]
TOKEN, APPID, ACCOUNT = "benchtoken", "wxbench0000000001", "gh_bench"
AES_KEY = base64.b64encode(b"k" * 32).decode().rstrip("=")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def text_xml(openid: str, content: str) -> str:
    return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
            f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{secrets.randbelow(10**18)}</MsgId></xml>")


async def oa_latencies(base: str, n: int, safe: bool) -> list[float]:
    crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
    out: list[float] = []
    async with aiohttp.ClientSession() as http:
        for i in range(n):
            openid = f"obench-{'s' if safe else 'p'}-{i // len(PHRASES)}"
            ts, nonce = str(int(time.time())), secrets.token_hex(4)
            params = {"signature": sha1_signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}
            body = text_xml(openid, PHRASES[i % len(PHRASES)])
            if safe:
                enc = crypto.encrypt(body)
                params.update(encrypt_type="aes", msg_signature=sha1_signature(TOKEN, ts, nonce, enc))
                body = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>"
            t = time.perf_counter()
            async with http.post(f"{base}/webhooks/wechat/webhook", params=params, data=body.encode()) as r:
                text = await r.text()
                if r.status != 200 or text == "success":
                    raise RuntimeError(f"unexpected answer {r.status} {text[:80]}")
            out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=60)
    ap.add_argument("--reuse-model", action="store_true", help="use the newest model in models/ without training")
    args = ap.parse_args()
    if args.reuse_model:
        model = max(MODELS_DIR.glob("govdesk-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    else:
        from bot.training import ensure_model
        model = ensure_model(quiet=True)
    ports = Ports(rasa=free_port(), actions=free_port(), staff_api=free_port(), voice=free_port(),
                  audiosocket=free_port(), redis=free_port())
    env = {"WECHAT_TOKEN": TOKEN, "WECHAT_APPID": APPID, "WECHAT_APPSECRET": "unused",
           "WECHAT_ENCODING_AES_KEY": AES_KEY, "WECHAT_ENCRYPT_MODE": "compatible",
           "WECHAT_API_BASE": "http://127.0.0.1:9", "WECHAT_PASSIVE_BUDGET_S": "30"}
    lines: list[str] = []
    saved_redis = os.environ.pop("REDIS_URL", None)
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(ports=ports, data_dir=Path(tmp), model=model, with_optional=False,
                      log_dir=Path(tmp) / "logs", extra_env=env)
        stack.start()
        try:
            base = f"http://localhost:{ports.rasa}"
            asyncio.run(oa_latencies(base, 6, safe=False))   # warm-up
            plain = asyncio.run(oa_latencies(base, args.n, safe=False))
            safe = asyncio.run(oa_latencies(base, args.n, safe=True))
        finally:
            stack.stop()
            if saved_redis:
                os.environ["REDIS_URL"] = saved_redis
    lines.append(f"- Official Account text message, plain mode (signature, XML, Redis dedup, Rasa turn, "
                 f"passive reply XML): {summary_ms(plain)}")
    lines.append(f"- Official Account text message, safe mode (+ msg_signature, AES decrypt/encrypt): "
                 f"{summary_ms(safe)}")
    for line in lines:
        print(line, flush=True)
    write(lines, model.name)


def write(lines: list[str], model: str) -> None:
    path = ROOT / "docs" / "benchmarks" / "wechat.md"
    text = [
        "# WeChat channels", "",
        "Reproduce: `PYTHONPATH=. .venv/bin/python -m bench.bench_wechat -n 60` "
        "(add `--reuse-model` to skip training).", "",
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {os.cpu_count()} CPUs shared with other "
        f"work, model `{model}`; sequential requests, phrases {'/'.join(PHRASES)}, a new user every "
        f"{len(PHRASES)} messages. WeChat allows 5 s; the channel answers passively within "
        "WECHAT_PASSIVE_BUDGET_S (4.5 s) and otherwise falls back to the customer-service API.", "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(text + lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
