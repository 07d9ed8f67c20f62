"""The emergency payload names every number its text tells the caller to ring (channels and
the conversation suite read the payload, not the words)."""
import re
from pathlib import Path

import yaml

DOMAIN = Path(__file__).resolve().parents[2] / "bot" / "domain" / "core.yml"


def test_every_number_said_is_in_the_emergency_event():
    responses = yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))["responses"]
    for name, variants in responses.items():
        for v in variants:
            custom = v.get("custom") or {}
            if custom.get("event") != "emergency":
                continue
            said = set(re.findall(r"1[12][0-9]", v["text"]))
            assert said <= {custom["number"], *custom.get("also", [])}, (name, v["text"])
