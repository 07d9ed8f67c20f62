"""Replies shaped for the ear: one fact per sentence, short sentences, shorter still when asked to slow down."""
import re

from textnorm.speech import MAX_CHARS, SLOW_MAX_CHARS, shape_for_voice

CARD = ("补办要本人去户籍所在地或全国任一公安派出所户籍窗口，要本人到场照相、按指纹，丢失补领40元，"
        "材料有户口簿、近期免冠照片、原身份证复印件、派出所开具的证明、居住证或者暂住证，一般二十个工作日内办好。")


def sentences(text: str) -> list[str]:
    return [s for s in re.findall(r"[^。！？]+[。！？]", text)]


def test_the_docstring_example_is_cut_at_its_commas():
    assert shape_for_voice("补办要本人去户籍所在地或全国任一公安派出所户籍窗口，要本人到场照相、按指纹，丢失补领40元。") == (
        "补办要本人去户籍所在地或全国任一公安派出所户籍窗口。要本人到场照相、按指纹。丢失补领40元。")


def test_no_sentence_is_longer_than_the_limit_and_nothing_is_lost():
    shaped = shape_for_voice(CARD)
    assert max(len(s) for s in sentences(shaped)) <= MAX_CHARS
    assert re.sub(r"[，。、]", "", shaped) == re.sub(r"[，。、]", "", CARD)


def test_slower_speech_gets_shorter_sentences():
    shaped = shape_for_voice(CARD, slow=True)
    # a clause with no pause in it (the first, 25 characters) cannot be cut; every other one is short
    assert all(len(s) <= SLOW_MAX_CHARS or not re.search("[，、；]", s) for s in sentences(shaped)), shaped
    assert len(sentences(shaped)) > len(sentences(shape_for_voice(CARD)))


def test_a_question_keeps_its_question_mark():
    assert shape_for_voice("您要补办身份证吗？").endswith("？")
