"""Route a classified 12345 request to the unit that must handle it (lead + co-handlers).

    from workorders.classify import classify
    from workorders.dispatch import route
    c = classify("柳树镇杨湾村停水两天了")
    a = route(c)              # Assignment(lead_unit_id='C01T03-...' or county unit, co_unit_ids, level, reason_zh)

Decision order (every step adds a plain-Chinese reason):
1. emergencies / refusals never become work orders: lead_unit_id is None, `transfer_to` says where;
2. department: the catalogue matter's department (mapped through dispatch_rules.yaml), else the
   first keyword rule that matches, else the category default;
3. level: the matter's level; 警务类 -> the 派出所 at the township; a complaint naming a county
   office -> county; otherwise the rule's level;
4. unit: that department at the caller's place for that level; when the place is unknown or the
   department has no unit there, the nearest unit up the hierarchy (township -> county -> prefecture).
All lookups are dict-based so route() stays far below 2 ms on a 10k-unit directory.
"""
from __future__ import annotations

import re
import threading
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from workorders.directory import LEVEL_RANK, LEVEL_ZH, Directory, default_directory

RULES_FILE = Path(__file__).resolve().parent / "dispatch_rules.yaml"


@dataclass
class Assignment:
    lead_unit_id: str | None
    co_unit_ids: list[str] = field(default_factory=list)
    level: str | None = None
    reason_zh: str = ""
    department: str | None = None
    co_departments: list[str] = field(default_factory=list)
    place_id: str | None = None        # the place whose unit was chosen
    fallback: bool = False             # True when we had to go up the hierarchy
    transfer_to: str | None = None     # "110"/"119"/"120"/"122" for emergencies
    refused: str | None = None         # refusal code

    @property
    def ok(self) -> bool:
        return self.lead_unit_id is not None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class KeywordRule:
    name: str
    patterns: tuple[re.Pattern, ...]
    lead: str
    co: tuple[str, ...]
    level: str
    reason_zh: str

    def matches(self, text: str) -> bool:
        return all(p.search(text) for p in self.patterns)


@dataclass(frozen=True)
class Rules:
    catalogue_departments: dict[str, str]
    keywords: tuple[KeywordRule, ...]
    category_defaults: dict[str, dict]
    matter_levels: dict[str, str]
    township_service_fallback: str
    county_complaint: re.Pattern
    # category -> {department, reason_zh}: that unit co-handles every order of the category it does not lead
    category_coordinators: dict[str, dict] = field(default_factory=dict)


def load_rules(path: Path | str = RULES_FILE) -> Rules:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    kws = []
    for i, r in enumerate(raw.get("keywords") or ()):
        for key in ("name", "all", "lead", "level", "reason_zh"):
            if key not in r:
                raise ValueError(f"{path}: keyword rule #{i + 1} lacks {key!r}")
        if r["level"] not in LEVEL_RANK:
            raise ValueError(f"{path}: keyword rule {r['name']!r} has unknown level {r['level']!r}")
        kws.append(KeywordRule(r["name"], tuple(re.compile(p) for p in r["all"]), r["lead"],
                               tuple(r.get("co") or ()), r["level"], r["reason_zh"]))
    return Rules(dict(raw.get("catalogue_departments") or {}), tuple(kws), dict(raw["category_defaults"]),
                 dict(raw["matter_levels"]), raw.get("township_service_fallback", "zhengwu"),
                 re.compile(raw.get("county_complaint") or r"(?!x)x"), dict(raw.get("category_coordinators") or {}))


@lru_cache(maxsize=1)
def rules() -> Rules:
    return load_rules()


def match_departments(text: str) -> KeywordRule | None:
    """The first keyword rule that matches the text (used by classify for `department`)."""
    for rule in rules().keywords:
        if rule.matches(text):
            return rule
    return None


def catalogue_department(dept_id: str | None) -> str | None:
    if not dept_id:
        return None
    return rules().catalogue_departments.get(dept_id, dept_id)


_catalogue_lock = threading.Lock()
_catalogue_state: dict[str, Any] = {"mode": None, "failed_at": -1e9}
CATALOGUE_RETRY_S = 30.0


def _catalogue():
    """The service catalogue, or None when it is absent/broken (dispatch then ignores matters).

    load_catalogue() caches by file signature, so calling it is cheap; a failure is retried
    after CATALOGUE_RETRY_S (the catalogue files may be mid-edit).
    """
    with _catalogue_lock:
        try:
            from catalogue.loader import load_catalogue
        except Exception:   # noqa: BLE001 - no catalogue package at all
            return None
        mode = _catalogue_state["mode"]
        if mode is not None:
            try:
                return load_catalogue(strict=mode == "strict")
            except Exception:   # noqa: BLE001
                _catalogue_state["mode"] = None
        now = time.monotonic()
        if now - _catalogue_state["failed_at"] < CATALOGUE_RETRY_S:
            return None
        for mode in ("strict", "lenient"):   # lenient: partial catalogue while being written
            try:
                cat = load_catalogue(strict=mode == "strict")
                _catalogue_state["mode"] = mode
                return cat
            except Exception:   # noqa: BLE001
                continue
        _catalogue_state["failed_at"] = now
        return None


def get_catalogue():
    """The service catalogue (strict, else lenient), or None when absent or invalid; loaded once."""
    return _catalogue()


def _get(c: Any, key: str, default=None):
    if isinstance(c, dict):
        return c.get(key, default)
    return getattr(c, key, default)


def _place_for_level(directory: Directory, location: dict, level: str) -> tuple[str | None, bool]:
    """The place id to look for a unit at `level`, and whether we had to go up (place unknown)."""
    loc = location or {}
    wanted = {"village": ("village_id", "township_id", "county_id"),
              "township": ("township_id", "county_id"),
              "county": ("county_id",), "prefecture": ()}[level]
    for i, key in enumerate(wanted):
        pid = loc.get(key)
        if pid and directory.get_place(pid):
            return pid, i > 0
    # derive ids from names when only names were given
    for key in wanted:
        name = loc.get(key[:-3])
        if name:
            cands = [p for p in directory.places_named(name) if p.level == key[:-3]]
            if len(cands) == 1:
                return cands[0].id, key != wanted[0]
    return directory.root.id, level != "prefecture"


def route(classification: Any, location: dict | None = None, directory: Directory | None = None) -> Assignment:
    """Pick the lead unit and co-handlers for a classified request.

    `classification` is a workorders.classify.Classification or its to_dict(); `location`
    overrides the classification's location ({village, township, county} names and/or *_id).
    """
    if classification is None:
        raise ValueError("route() needs a classification (see workorders.classify.classify)")
    directory = directory or default_directory()
    emergency = _get(classification, "emergency")
    if emergency:
        return Assignment(None, [], None, f"紧急情况不生成工单，请立即转{emergency}。", transfer_to=str(emergency))
    refusal = _get(classification, "refusal")
    if refusal:
        code = refusal.get("code") if isinstance(refusal, dict) else str(refusal)
        reason = refusal.get("reason_zh") if isinstance(refusal, dict) else ""
        return Assignment(None, [], None, f"不予受理：{reason or code}", refused=code)

    r = rules()
    text = _get(classification, "text") or ""
    category = _get(classification, "category") or "政务类"
    req_type = _get(classification, "type") or "求助"
    loc = dict(_get(classification, "location") or {})
    if location:
        loc.update({k: v for k, v in location.items() if v})
        # names given without ids: drop stale ids from the classification
        for lvl in ("village", "township", "county"):
            if location.get(lvl) and not location.get(f"{lvl}_id"):
                loc.pop(f"{lvl}_id", None)

    reasons: list[str] = []
    dept = co = level = None
    matter_id = _get(classification, "matter_id")
    matter = None
    if matter_id:
        cat = _catalogue()
        matter = cat.get(matter_id) if cat is not None else None
    rule = match_departments(text) if text else None
    if matter is not None and _get(classification, "service_request"):
        # a resident registered for this matter: its department at the resident's township
        # handles it (words in the request such as 出生 or 养老金 do not reroute it)
        dept, co, level, rule = catalogue_department(matter_id.split(".", 1)[0]), (), "township", None
        reasons.append(f"登记办理事项“{matter.get('name', matter_id)}”，由属地对口单位受理")
    elif matter is not None:
        mdept = catalogue_department(matter_id.split(".", 1)[0])
        # a service matter decides for enquiries and when no problem rule applies; a reported
        # problem (停水, 污染 ...) follows the keyword rule, which knows co-handlers
        if category == "咨询类" or rule is None or rule.lead == mdept:
            dept, co = mdept, ()
            level = r.matter_levels.get(matter.get("level"), "county")
            reasons.append(f"事项“{matter.get('name', matter_id)}”")
            rule = None
        else:
            matter = None
    if dept is None or dept not in directory.departments:
        if rule is None and _get(classification, "department"):
            d = catalogue_department(_get(classification, "department"))
            if d in directory.departments:
                dept, co, level = d, (), level or "township"
                reasons.append(f"{directory.departments[d].name}部门事项")
        if rule is not None:
            dept, co, level = rule.lead, rule.co, rule.level
            reasons.append(rule.reason_zh)
    if dept is None or dept not in directory.departments:
        default = r.category_defaults.get(category) or r.category_defaults["政务类"]
        dept, co, level = default["department"], tuple(default.get("co") or ()), default["level"]
        reasons.append(default["reason_zh"])

    # level adjustments by category / type
    if category == "警务类" and dept == "gongan":
        level = "township"
    if req_type == "投诉" and text and r.county_complaint.search(text) and LEVEL_RANK[level] > LEVEL_RANK["county"]:
        level = "county"
        reasons.append("投诉涉及县级单位，由县级部门办理")
    if matter is not None and level == "village":
        pass   # village-level matters go to the village committee below

    place_id, went_up = _place_for_level(directory, loc, level)
    lead = None
    if level == "village" and directory.get_place(place_id) and directory.place(place_id).level == "village":
        lead = directory.at("cunwei", place_id)
    if lead is None:
        lvl_place = place_id
        if level == "village" and directory.place(place_id).level == "village":
            lvl_place = directory.place(place_id).parent_id
        lead = directory.at(dept, lvl_place)
        if lead is None and matter is not None and directory.place(lvl_place).level == "township":
            lead = directory.at(r.township_service_fallback, lvl_place)
            if lead is not None:
                reasons.append("乡镇没有该部门的站所，由乡镇便民服务中心受理")
        if lead is None:
            lead = directory.lookup_up(dept, lvl_place)
            if lead is not None and lead.place_id != lvl_place:
                went_up = True
        if lead is None:
            lead = directory.lookup_up("zhengfu", lvl_place)
            went_up = True
            reasons.append("未找到对口部门，由属地人民政府统筹")
    if lead is None:
        raise LookupError("directory has no unit that can take this request (no 人民政府 unit either)")

    coord = r.category_coordinators.get(category)
    if coord and coord["department"] != lead.department and coord["department"] not in (co or ()):
        co = tuple(co or ()) + (coord["department"],)
        reasons.append(coord["reason_zh"])
    co_ids = []
    for c in co or ():
        if c == lead.department:
            continue
        u = directory.lookup_up(c, lead.place_id)
        if u is not None and u.id != lead.id and u.id not in co_ids:
            co_ids.append(u.id)
    if went_up:
        reasons.append("地点不明确或当地没有对口单位，由上一级单位办理")
    reason = "；".join(dict.fromkeys(reasons)) + f"。主办：{lead.name}"
    if co_ids:
        reason += "；协办：" + "、".join(directory.unit(i).name for i in co_ids)
    return Assignment(lead.id, co_ids, lead.level, reason + "。", department=lead.department,
                      co_departments=[directory.unit(i).department for i in co_ids], place_id=lead.place_id,
                      fallback=went_up)


__all__ = ["Assignment", "route", "match_departments", "load_rules", "rules", "catalogue_department",
           "LEVEL_ZH"]
