"""Gateway settings from the environment (ports come from common.settings)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from common.settings import DATA_DIR, MODELS_DIR, PORTS, env_flag, env_float, env_int, env_str, rasa_url


@dataclass
class VoiceConfig:
    voice_port: int = field(default_factory=lambda: env_int("VOICE_PORT", PORTS.voice))
    audiosocket_port: int = field(default_factory=lambda: env_int("AUDIOSOCKET_PORT", PORTS.audiosocket))
    host: str = field(default_factory=lambda: env_str("VOICE_HOST", "0.0.0.0"))
    rasa_url: str = field(default_factory=rasa_url)
    rasa_timeout_s: float = field(default_factory=lambda: env_float("VOICE_RASA_TIMEOUT", 15.0))
    # ASR
    asr_engine: str = field(default_factory=lambda: env_str("VOICE_ASR_ENGINE", "whisper"))
    asr_model_dir: str = field(default_factory=lambda: env_str(
        "VOICE_ASR_MODEL", str(MODELS_DIR / "asr" / "whisper-base")))
    asr_beam: int = field(default_factory=lambda: env_int("VOICE_ASR_BEAM", 1))
    asr_threads: int = field(default_factory=lambda: env_int("VOICE_ASR_THREADS", 2))
    asr_workers: int = field(default_factory=lambda: env_int("VOICE_ASR_WORKERS", 1))
    # "fair": one shared pool, bounded queue, round-robin per call (voice/asr_pool.py);
    # "fifo": the previous single executor, first come first served (kept for side-by-side benches).
    asr_sched: str = field(default_factory=lambda: env_str("VOICE_ASR_SCHED", "fair"))
    asr_max_pending: int = field(default_factory=lambda: env_int("VOICE_ASR_MAX_PENDING", 32))
    asr_max_per_call: int = field(default_factory=lambda: env_int("VOICE_ASR_MAX_PER_CALL", 3))
    # Beam-N second pass when the greedy pass is unsure (mean token log-prob below this) and no
    # other job waits; 0 = off (the default: in the integration test "转人工" greedy -> 拆眼空 is
    # repaired by the front end, beam 5 -> "拆剪功" scored higher and was not; set 5 to try it).
    asr_second_beam: int = field(default_factory=lambda: env_int("VOICE_ASR_SECOND_BEAM", 0))
    asr_second_below: float = field(default_factory=lambda: env_float("VOICE_ASR_SECOND_BELOW", -0.7))
    # TTS
    tts_engine: str = field(default_factory=lambda: env_str("VOICE_TTS_ENGINE", "espeak"))
    # espeak-ng voice variant: "f3" was the most intelligible of 15 tried (read-back CER over a phone
    # line .545 against .696 for the plain voice, docs/benchmarks/tts.md); "none" = the plain voice.
    tts_espeak_variant: str = field(default_factory=lambda: env_str("VOICE_ESPEAK_VARIANT", "f3"))
    tts_rate: int = field(default_factory=lambda: env_int("VOICE_TTS_RATE", 130))
    tts_rate_slow: int = field(default_factory=lambda: env_int("VOICE_TTS_RATE_SLOW", 100))
    tts_cache_dir: str = field(default_factory=lambda: env_str(
        "VOICE_TTS_CACHE", str(DATA_DIR / "voice" / "tts-cache")))
    prompts_dir: str = field(default_factory=lambda: env_str(
        "VOICE_PROMPTS_DIR", os.path.join(os.path.dirname(__file__), "prompts")))
    # Turn taking
    vad_engine: str = field(default_factory=lambda: env_str("VOICE_VAD_ENGINE", "silero"))
    end_of_turn_ms: int = field(default_factory=lambda: env_int("VOICE_EOT_MS", 400))
    max_utterance_s: float = field(default_factory=lambda: env_float("VOICE_MAX_UTTERANCE_S", 15.0))
    reprompt_s: float = field(default_factory=lambda: env_float("VOICE_REPROMPT_S", 8.0))
    # Front end on/off (bench compares both)
    frontend: bool = field(default_factory=lambda: env_flag("VOICE_FRONTEND", True))
    # HTTP upload
    max_upload_bytes: int = field(default_factory=lambda: env_int("VOICE_MAX_UPLOAD", 2 * 1024 * 1024))
    event_log_size: int = 200
    # Safety limits (voice/security.py, voice/audio.py): see docs in voice/README.md
    token: str | None = field(default_factory=lambda: env_str("VOICE_TOKEN") or None, repr=False)
    channel_token: str | None = field(default_factory=lambda: env_str("VOICE_CHANNEL_TOKEN") or None,
                                      repr=False)
    audiosocket_allow: str = field(default_factory=lambda: env_str(
        "VOICE_AUDIOSOCKET_ALLOW", "127.0.0.0/8,::1"))
    max_calls: int = field(default_factory=lambda: env_int("VOICE_MAX_CALLS", 20))
    max_audio_s: float = field(default_factory=lambda: env_float("VOICE_MAX_AUDIO_S", 30.0))
    max_queued_turns: int = field(default_factory=lambda: env_int("VOICE_MAX_QUEUED_TURNS", 4))
    header_timeout_s: float = field(default_factory=lambda: env_float("VOICE_HEADER_TIMEOUT_S", 10.0))
    read_timeout_s: float = field(default_factory=lambda: env_float("VOICE_READ_TIMEOUT_S", 30.0))
    keepalive_s: float = field(default_factory=lambda: env_float("VOICE_KEEPALIVE_S", 15.0))
    tts_cache_ttl_s: float = field(default_factory=lambda: env_float("VOICE_TTS_CACHE_TTL_S", 30 * 86400.0))
    tts_cache_max_mb: float = field(default_factory=lambda: env_float("VOICE_TTS_CACHE_MAX_MB", 100.0))
