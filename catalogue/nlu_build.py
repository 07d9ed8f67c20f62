"""Build step: Rasa NLU data derived from the catalogue -> bot/data/generated/catalogue.yml.

Generates plain examples for the ask_* intents (templates x a bounded, seeded sample of
aliases) so the model knows what asking about a matter sounds like. Which matter a sentence
names is not learnt from these: bot/nlu/matter.py ranks the whole catalogue at parse time,
so there are no entity annotations, lookup tables or synonyms here (they made training slow
and let template sentences override the catalogue's search).
Output is deterministic so the training fingerprint only changes with the data.
Run: PYTHONPATH=. .venv/bin/python -m catalogue.nlu_build
"""
from __future__ import annotations

import random
import re
import sys
from collections import defaultdict
from pathlib import Path

from catalogue.loader import Catalogue, load_catalogue
from common.settings import BOT_DIR

OUT = BOT_DIR / "data" / "generated" / "catalogue.yml"
SEED = 20240607
PER_MATTER_ASK = 1          # ask_matter examples per matter
PER_ASPECT_INTENT = 80      # examples per aspect intent (sampled over matters)

TEMPLATES = {
    "ask_matter": [
        "{x}", "我想办{x}", "我要办{x}", "{x}怎么办", "{x}咋办", "{x}怎么办理", "请问{x}怎么弄",
        "俺想问问{x}", "想问一下{x}", "办{x}", "{x}咋弄啊", "我家老人要办{x}", "{x}是怎么回事",
        "问下{x}的事", "{x}怎么申请", "帮我看看{x}",
    ],
    "ask_materials": [
        "{x}要带什么", "{x}需要什么材料", "{x}要准备哪些东西", "办{x}带啥", "{x}要什么证件",
        "{x}材料有哪些", "去办{x}要拿什么", "{x}得带些啥", "{x}要带哪些资料", "办{x}要准备啥",
    ],
    "ask_fee": [
        "{x}要多少钱", "{x}收费吗", "{x}要钱不", "办{x}花多少钱", "{x}免费吗", "{x}工本费多少",
        "{x}要交钱吗", "{x}收不收钱", "办{x}得花钱不",
    ],
    "ask_time": [
        "{x}要多久", "{x}几天能办好", "{x}多长时间", "{x}什么时候能拿到", "办{x}要等多久",
        "{x}多久下来", "{x}几天出结果", "{x}要办几天",
    ],
    "ask_where": [
        "{x}在哪办", "{x}去哪里办", "{x}到哪个部门办", "在哪里办{x}", "{x}找哪个单位",
        "{x}去哪儿弄", "{x}在哪个窗口", "办{x}去哪",
    ],
    "ask_online": [
        "{x}能在网上办吗", "{x}手机上能办不", "{x}可以网上申请吗", "网上怎么办{x}",
        "{x}能不能在手机上弄", "{x}不用跑能办吗", "{x}能线上办吗",
    ],
    "ask_proxy": [
        "{x}能代办吗", "{x}家里人能替我办吗", "{x}本人不去行不行", "我儿子能帮我办{x}吗",
        "{x}可以委托别人吗", "{x}要本人去吗", "{x}别人能帮着办不",
    ],
    "ask_eligibility": [
        "我能办{x}吗", "{x}什么人能办", "{x}需要什么条件", "谁可以申请{x}", "{x}我够不够条件",
        "{x}有什么要求", "什么情况能办{x}", "{x}我符合吗",
    ],
}
# Characters that would break Rasa's entity markup or the YAML block.
_UNSAFE = re.compile(r"[\[\]{}()（）\"'\n#|]")


def matter_surfaces(catalogue: Catalogue) -> dict[str, list[str]]:
    """Matter id -> usable surfaces (name + aliases) that belong to that matter only."""
    owners: dict[str, set[str]] = defaultdict(set)
    for m in catalogue.matters:
        for s in [m["name"], *m["aliases"]]:
            owners[s.strip()].add(m["id"])
    out: dict[str, list[str]] = {}
    for m in catalogue.matters:
        seen: list[str] = []
        for s in [*m["aliases"], m["name"]]:
            s = s.strip()
            if s and s not in seen and len(owners[s]) == 1 and not _UNSAFE.search(s):
                seen.append(s)
        out[m["id"]] = seen
    return out


def _annotate(template: str, alias: str, matter_id: str) -> str:
    return template.replace("{x}", alias)


def _aligned(template: str, alias: str) -> bool:
    """True when Jieba (Rasa's tokenizer here) puts token borders at both ends of the alias.

    Otherwise Rasa drops the annotation ("Misaligned entity annotation") and the example
    teaches the intent but not the entity.
    """
    import jieba

    text = template.replace("{x}", alias)
    start = template.index("{x}")
    end = start + len(alias)
    borders = {0}
    for _word, _s, e in jieba.tokenize(text):
        borders.add(e)
    return start in borders and end in borders


def _example(rng: random.Random, intent: str, alias: str, matter_id: str) -> str | None:
    """An annotated example for alias with a template that keeps it a whole token run."""
    templates = list(TEMPLATES[intent])
    rng.shuffle(templates)
    for template in templates:
        if _aligned(template, alias):
            return _annotate(template, alias, matter_id)
    return None


def build(catalogue: Catalogue) -> str:
    import jieba

    jieba.setLogLevel(60)   # no "Building prefix dict" chatter
    rng = random.Random(SEED)
    surfaces = matter_surfaces(catalogue)
    ids = sorted(surfaces)
    examples: dict[str, list[str]] = {}
    # ask_matter: every matter, a few of its aliases (the first alias always).
    lines = []
    for mid in ids:
        names = surfaces[mid]
        if not names:
            continue
        picked = [names[0]] + rng.sample(names[1:], min(PER_MATTER_ASK - 1, len(names) - 1))
        for alias in picked:
            example = _example(rng, "ask_matter", alias, mid)
            if example:
                lines.append(example)
    examples["ask_matter"] = lines
    # aspect intents: matters in a shuffled round-robin, a random alias and template each.
    for intent in sorted(TEMPLATES):
        if intent == "ask_matter":
            continue
        order = [mid for mid in ids if surfaces[mid]]
        rng.shuffle(order)
        lines = []
        for i in range(min(PER_ASPECT_INTENT, len(order) * 3)):
            mid = order[i % len(order)] if order else None
            if mid is None:
                break
            example = _example(rng, intent, rng.choice(surfaces[mid]), mid)
            if example:
                lines.append(example)
        examples[intent] = lines
    out = ['version: "3.1"',
           "# GENERATED by `python -m catalogue.nlu_build` from bot/catalogue/matters/*.yaml.",
           "# Do not edit: rebuilt before every training (bot/training.py).", "nlu:"]
    for intent in sorted(examples):
        uniq = sorted(set(examples[intent]))
        if uniq:
            out += [f"  - intent: {intent}", "    examples: |"] + [f"      - {e}" for e in uniq]
    return "\n".join(out) + "\n"


def main(out: Path = OUT) -> Path:
    catalogue = load_catalogue(strict=False)
    for warning in catalogue.warnings:
        print(f"[catalogue] warning: {warning}", file=sys.stderr)
    text = build(catalogue)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not out.exists() or out.read_text(encoding="utf-8") != text:
        out.write_text(text, encoding="utf-8")
    return out


if __name__ == "__main__":
    print(main())
