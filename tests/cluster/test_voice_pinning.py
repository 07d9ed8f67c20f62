"""Two real voice gateways behind the cluster's HAProxy: a call is pinned to one gateway.

The dialplan announces the caller with POST /calls/<uuid> (HTTP, hashed on the call id), then the
PBX opens the AudioSocket connection whose first frame carries the same UUID (TCP, hashed on those
16 bytes, same consistent ring). The gateway that takes the audio must be the one that was told
the caller: GET /calls/<uuid> (same hash) then shows the live call with the caller known.
"""
from __future__ import annotations

import asyncio
import struct
import uuid

import aiohttp
import pytest

from cluster.topology import Cluster
from voice.security import channel_token

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def voice_cluster(tmp_path_factory):
    c = Cluster(replicas=2, data_dir=tmp_path_factory.mktemp("voice-cluster"), with_rasa=False, with_staff=False,
                with_voice=True, extra_env={"LOG_LEVEL": "WARNING", "VOICE_ASR_THREADS": "1"})
    c.start(timeout=300)
    yield c
    c.stop()


async def _announce(http, base, auth, call, n) -> str:
    async with http.post(f"{base}/calls/{call}", headers=auth, json={"caller": f"1380013{n:04d}"}) as resp:
        assert resp.status == 200, await resp.text()
        return resp.headers["X-Govdesk-Replica"]


async def test_a_call_reaches_the_gateway_that_knows_its_caller(voice_cluster):
    c = voice_cluster
    base = f"http://127.0.0.1:{c.ep.voice}"
    auth = {"Authorization": f"Bearer {channel_token()}"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        # A consistent-hash ring with two servers is not split 50/50, so a fixed handful of random
        # call ids can all land on one gateway. Announce calls until each gateway holds two (64 at
        # most: a ring that never reaches one gateway in 64 tries is broken, not unlucky).
        calls: dict[str, list[uuid.UUID]] = {}
        for n in range(64):
            call = uuid.uuid4()
            calls.setdefault(await _announce(http, base, auth, call, n), []).append(call)
            if len(calls) == 2 and all(len(v) >= 2 for v in calls.values()):
                break
        assert set(calls) == {"voice1", "voice2"}, {k: len(v) for k, v in calls.items()}
        for gateway, ids in calls.items():
            for call in ids[:2]:
                reader, writer = await asyncio.open_connection("127.0.0.1", c.ep.audiosocket)
                writer.write(struct.pack(">BH", 0x01, 16) + call.bytes)
                await writer.drain()
                seen = None
                for _ in range(300):
                    async with http.get(f"{base}/calls/{call}", headers=auth) as resp:
                        assert resp.headers["X-Govdesk-Replica"] == gateway
                        if resp.status == 200:
                            seen = await resp.json()
                            if seen.get("state") != "new" or seen.get("events"):
                                break
                    await asyncio.sleep(0.2)
                writer.write(struct.pack(">BH", 0x00, 0))
                writer.close()
                assert seen is not None and seen["caller_known"], f"call {call} not on {gateway}: {seen}"
