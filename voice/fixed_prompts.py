"""The fixed sentences the gateway may speak: its own prompts (voice.pipeline) and the bot's responses
without slots (bot/domain/*.yml, read as files: voice never imports the bot). Only these may be cached on
disk or recorded with a human voice (voice/prompts/<key>.wav).

`python -m voice.fixed_prompts` prints "<key>.wav<TAB>sentence" lines: the recording list.
"""
from __future__ import annotations

import yaml

from common.settings import BOT_DIR
from voice import pipeline
from voice.engines.tts import prompt_key, split_sentences


def fixed_prompts() -> list[str]:
    texts = [pipeline.HANDOFF_TEXT, pipeline.APOLOGY_TEXT, pipeline.REPROMPT_TEXT, pipeline.OFFER_PERSON_TEXT,
             pipeline.ELDERLY_OFFER_TEXT, pipeline.FAIL_OFFER_TEXT, pipeline.GOODBYE_TEXT, pipeline.BUSY_TEXT]
    for path in sorted((BOT_DIR / "domain").glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for variants in (doc.get("responses") or {}).values():
            for v in variants or []:
                if isinstance(v, dict) and v.get("text") and "{" not in v["text"]:
                    texts.append(v["text"])
    return list(dict.fromkeys(s for t in texts for s in split_sentences(t)))


if __name__ == "__main__":
    for sentence in fixed_prompts():
        print(f"{prompt_key(sentence)}.wav\t{sentence}")
