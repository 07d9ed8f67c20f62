"""The shared Whisper engine on real audio, the SpeechRecognition hook, the model builder."""
import speech_recognition as sr
import pytest

from voice.asr_model import MODEL_BIN_SHA256, ensure_whisper_base, is_complete
from voice.engines.asr import WhisperEngine, _dedupe_loops, register_with_speech_recognition, to_audio_data
from tests.voice.client import synth

AUDIO = "/work/shared/audio"


@pytest.fixture(scope="module")
def engine():
    return WhisperEngine(ensure_whisper_base(), beam_size=1, cpu_threads=2)


def test_model_dir_is_built_and_verified():
    path = ensure_whisper_base(verify=True)
    assert is_complete(path) and len(MODEL_BIN_SHA256) == 64


def test_recognizes_real_speech_in_simplified_chinese(engine):
    register_with_speech_recognition(engine)
    r = sr.Recognizer()
    with sr.AudioFile(f"{AUDIO}/real/mandarin/aishell1_BAC009S0764W0121.wav") as src:
        audio = r.record(src)
    text = r.recognize_govdesk(audio)
    ref = "甚至出现交易几乎停滞的情况"
    same = sum(1 for a, b in zip(ref, text) if a == b)
    assert same >= len(ref) - 2, text                   # at most 2 characters wrong
    assert "出现" in text                               # simplified, not 出現
    result = r.recognize_govdesk(audio, show_all=True)
    assert result.seconds < 3.0


def test_silence_and_noise_give_no_text_or_short_text(engine):
    with pytest.raises(sr.UnknownValueError):
        sr.Recognizer().recognize_govdesk(to_audio_data(b"\x00\x00" * 800))   # 50 ms: too short


def test_candidate_scoring_prefers_what_was_said(engine):
    audio = to_audio_data(synth("016.wav", 16000))                         # 不是这个
    yes, no = engine.score(audio, ["是的", "不是"])
    assert no > yes


def test_repetition_loops_are_cut():
    assert _dedupe_loops("转人工转人工转人工") == "转人工"
    assert _dedupe_loops("好的好的") == "好的好的"   # a natural doubling stays
    assert _dedupe_loops("开放时间九点开放时间九点开放时") == "开放时间九点"
