"""Voice gateway: telephony/WebSocket/HTTP transports -> one call pipeline -> ASR/TTS engines.

Entry point: ``python -m voice.gateway``.  See docs/voice-protocol.md.
"""
