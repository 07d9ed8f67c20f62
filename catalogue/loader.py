"""Load bot/catalogue/matters/*.yaml, validate against schema.yaml, apply overrides.yaml.

Matters stay plain dicts with the YAML field names (m["fee"]["yuan"],
m["materials"]["items"], m["where"]["text"] ...).  Every problem is reported with
the file and the matter id, and all problems of a load are reported together.
"""
from __future__ import annotations

import copy
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from common.settings import BOT_DIR

CATALOGUE_DIR = BOT_DIR / "catalogue"
MATTERS_DIR = CATALOGUE_DIR / "matters"
SCHEMA_PATH = CATALOGUE_DIR / "schema.yaml"
OVERRIDES_PATH = CATALOGUE_DIR / "overrides.yaml"


class CatalogueError(ValueError):
    """The catalogue files are invalid; the message lists every problem found."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("service catalogue is invalid:\n  - " + "\n  - ".join(self.problems))


@dataclass
class Catalogue:
    matters: list[dict]
    departments: list[dict]                      # [{"id", "name", "full_name"?}, ...]
    by_department: dict[str, list[dict]]         # department id -> matters
    warnings: list[str] = field(default_factory=list)  # problems tolerated with strict=False
    _by_id: dict[str, dict] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_id = {m["id"]: m for m in self.matters}

    def get(self, matter_id: str | None) -> dict | None:
        return self._by_id.get(matter_id or "")

    def __contains__(self, matter_id: object) -> bool:
        return matter_id in self._by_id

    def __len__(self) -> int:
        return len(self.matters)

    def department(self, dept_id: str) -> dict | None:
        return next((d for d in self.departments if d["id"] == dept_id), None)

    def department_of(self, matter_id: str) -> dict | None:
        return self.department(matter_id.split(".", 1)[0])


_lock = threading.Lock()
_cache: dict[tuple, Catalogue] = {}


def reload_catalogue() -> None:
    """Forget every loaded catalogue: the next load_catalogue() reads the files again."""
    with _lock:
        _cache.clear()


def load_catalogue(path: str | Path | None = None, overrides: str | Path | None = None,
                   strict: bool = True) -> Catalogue:
    """The catalogue under `path` (default bot/catalogue/matters), loaded once per process.

    A changed catalogue is taken up by `reload_catalogue()` (or a restart): the hot path (every bot turn,
    every API search) touches no file.

    `overrides` defaults to bot/catalogue/overrides.yaml for the default path and to
    `<path>/../overrides.yaml` otherwise (absent file = no overrides).
    strict=False drops `related` ids that do not exist instead of failing (for partial
    data while departments are being written); every other problem still fails.
    """
    matters_dir = Path(path) if path is not None else MATTERS_DIR
    if overrides is None:
        overrides_path = OVERRIDES_PATH if path is None else matters_dir.parent / "overrides.yaml"
    else:
        overrides_path = Path(overrides)
    key = (str(matters_dir), str(overrides_path), strict)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    if not matters_dir.is_dir():
        raise CatalogueError([f"{matters_dir}: catalogue folder not found"])
    with _lock:
        cached = _cache.get(key)
        if cached is None:
            cached = _load(matters_dir, overrides_path, strict)
            if len(_cache) >= 4:
                _cache.clear()
            _cache[key] = cached
        return cached


def _schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))


def _matter_validator(schema: dict) -> jsonschema.Draft7Validator:
    sub = copy.deepcopy(schema["properties"]["matters"]["items"])
    sub["definitions"] = schema["definitions"]
    return jsonschema.Draft7Validator(sub)


def _where(error: jsonschema.ValidationError) -> str:
    return "/".join(str(p) for p in error.absolute_path) or "(top)"


def _load(matters_dir: Path, overrides_path: Path, strict: bool = True) -> Catalogue:
    schema = _schema()
    file_validator = jsonschema.Draft7Validator(schema)
    matter_validator = _matter_validator(schema)
    problems: list[str] = []
    matters: list[dict] = []
    departments: dict[str, dict] = {}
    origin: dict[str, str] = {}
    files = sorted(matters_dir.glob("*.yaml"))
    if not files:
        problems.append(f"{matters_dir}: no *.yaml department files")
    for file in files:
        name = file.name
        try:
            doc = yaml.safe_load(file.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            problems.append(f"{name}: not valid YAML: {exc}".replace("\n", " "))
            continue
        if not isinstance(doc, dict):
            problems.append(f"{name}: must be a mapping with 'department' and 'matters'")
            continue
        # Errors inside one matter are reported per matter (with its id) below.
        for err in file_validator.iter_errors({k: v for k, v in doc.items() if k != "matters"} | {"matters": []}):
            problems.append(f"{name}: {_where(err)}: {err.message}")
        dept = doc.get("department") if isinstance(doc.get("department"), dict) else {}
        dept_id = dept.get("id")
        if not isinstance(doc.get("matters"), list):
            problems.append(f"{name}: 'matters' must be a list")
            continue
        for index, matter in enumerate(doc["matters"]):
            mid = matter.get("id") if isinstance(matter, dict) else None
            label = f"{name}: matter {mid or '#' + str(index + 1)}"
            errors = sorted(matter_validator.iter_errors(matter), key=lambda e: list(e.absolute_path))
            for err in errors:
                problems.append(f"{label}: {_where(err)}: {err.message}")
            if not isinstance(mid, str):
                continue
            if dept_id and mid.split(".", 1)[0] != dept_id:
                problems.append(f"{label}: id must start with the department id '{dept_id}.'")
            if mid in origin:
                problems.append(f"{label}: duplicate id (also in {origin[mid]})")
                continue
            origin[mid] = name   # known even when invalid: no cascade of "related does not exist"
            if not errors:
                matters.append(matter)
        if dept_id:
            if dept_id in departments:
                problems.append(f"{name}: department '{dept_id}' is also defined in another file")
            departments.setdefault(dept_id, dict(dept))
    ids = set(origin)
    warnings: list[str] = []
    for m in matters:
        for rel in m.get("related", []):
            if rel not in ids:
                (problems if strict else warnings).append(
                    f"{origin[m['id']]}: matter {m['id']}: related id '{rel}' does not exist")
        if not strict:
            m["related"] = [rel for rel in m.get("related", []) if rel in ids]
    if not problems:
        problems += apply_overrides(matters, overrides_path, matter_validator)
    if not problems:
        problems += render_fee_references(matters, origin)
    if problems:
        raise CatalogueError(problems)
    by_department: dict[str, list[dict]] = {d: [] for d in sorted(departments)}
    for m in matters:
        by_department.setdefault(m["id"].split(".", 1)[0], []).append(m)
    return Catalogue(matters=matters, departments=[departments[d] for d in sorted(departments)],
                     by_department=by_department, warnings=warnings)


_AMOUNT = re.compile(r"\d+(?:\.\d+)?\s*元")


def render_fee_references(matters: list[dict], origin: dict[str, str]) -> list[str]:
    """A matter's fee has one home, `fee.text`: step prose says "{fee}" and gets it here (after the
    overrides, so an override of the fee changes every sentence). An amount written in a step is an error."""
    problems = []
    for m in matters:
        steps = m["steps"]["items"]
        for i, step in enumerate(steps):
            if _AMOUNT.search(step.replace("{fee}", "")):
                problems.append(f"{origin[m['id']]}: matter {m['id']}: steps.items.{i} writes an amount; "
                                f"write {{fee}} (the fee lives in fee.text)")
            steps[i] = step.replace("{fee}", m["fee"]["text"])
    return problems


def _set_path(target: Any, dotted: str, value: Any) -> str | None:
    """Set `a.b.0.c` inside target; returns an error text or None."""
    parts = dotted.split(".")
    node = target
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                return f"'{'.'.join(parts[:i + 1])}' is not an index of the list"
            if last:
                node[int(part)] = value
                return None
            node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                node[part] = value
                return None
            if part not in node:
                return f"'{'.'.join(parts[:i + 1])}' does not exist"
            node = node[part]
        else:
            return f"'{'.'.join(parts[:i])}' is not a mapping or list"
    return None


def apply_overrides(matters: list[dict], path: Path, validator: jsonschema.Draft7Validator) -> list[str]:
    """Apply overrides.yaml ({matter id: {field.path: value}}) in place; returns problems."""
    if not path.exists():
        return []
    name = path.name
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        return [f"{name}: not valid YAML: {exc}".replace("\n", " ")]
    if doc is None:
        return []
    if not isinstance(doc, dict):
        return [f"{name}: must be a mapping of matter id -> {{field path: value}}"]
    by_id = {m["id"]: m for m in matters}
    problems = []
    for mid, changes in sorted(doc.items()):
        if mid not in by_id:
            problems.append(f"{name}: matter {mid}: no such matter in the catalogue")
            continue
        if not isinstance(changes, dict):
            problems.append(f"{name}: matter {mid}: expected a mapping of field path -> value")
            continue
        for field_path, value in changes.items():
            error = _set_path(by_id[mid], str(field_path), value)
            if error:
                problems.append(f"{name}: matter {mid}: {field_path}: {error}")
        for err in validator.iter_errors(by_id[mid]):
            problems.append(f"{name}: matter {mid}: after override {_where(err)}: {err.message}")
    return problems
