"""espeak-ng engine: Chinese text -> tone-numbered pinyin for the cmn-latn-pinyin voice."""
from voice.engines.tts_espeak import to_speech_pinyin


def test_pinyin_with_tones_and_digits_one_by_one():
    s = to_speech_pinyin("请打119！")
    assert s.startswith("qing3 da3 yao1 yao1 jiu3")
    assert "一百" not in s


def test_pauses_become_commas_and_stops():
    assert to_speech_pinyin("您好，请讲。") == "nin2 hao3, qing3 jiang3."
