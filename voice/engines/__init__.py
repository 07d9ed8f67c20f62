"""Swappable engines behind small interfaces: ASR (asr.py), TTS (tts.py), VAD (vad.py)."""
