"""AudioSocket framing, checked against byte strings written from the protocol text."""
import asyncio

import pytest

from voice.transports.audiosocket import encode_frame, read_frame


def test_encode_matches_protocol_bytes():
    # type 0x10, length 320 = 0x0140 big-endian, then the payload
    assert encode_frame(0x10, b"\x01\x00" * 160)[:3] == b"\x10\x01\x40"
    assert encode_frame(0x00) == b"\x00\x00\x00"
    assert encode_frame(0x03, b"5") == b"\x03\x00\x015"
    uuid_bytes = bytes(range(16))
    assert encode_frame(0x01, uuid_bytes) == b"\x01\x00\x10" + uuid_bytes


def test_encode_rejects_oversized_payload():
    with pytest.raises(ValueError):
        encode_frame(0x10, b"\x00" * 70000)


async def _parse(data: bytes, eof: bool = True):
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    if eof:
        reader.feed_eof()
    frames = []
    try:
        while True:
            frames.append(await read_frame(reader))
    except asyncio.IncompleteReadError as exc:
        return frames, exc


async def test_read_sequence_and_truncation():
    stream = b"\x01\x00\x10" + b"U" * 16 + b"\x10\x00\x04abcd" + b"\x03\x00\x01#" + b"\x00\x00\x00"
    frames, _ = await _parse(stream)
    assert frames == [(0x01, b"U" * 16), (0x10, b"abcd"), (0x03, b"#"), (0x00, b"")]
    # peer disconnects in the middle of a frame: an IncompleteReadError, not a bogus frame
    frames, exc = await _parse(b"\x10\x01\x40" + b"\x00" * 100)
    assert frames == [] and exc is not None
    frames, exc = await _parse(b"\x10\x01")  # truncated header
    assert frames == [] and exc is not None
