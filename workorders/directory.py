"""The organisation directory that 12345 work orders are dispatched to.

A prefecture is a tree of places (prefecture -> county -> township -> village); every
place hosts units (职能部门, 乡镇站所, 村委会, 公共服务企业). Each unit belongs to one
department (pinyin id, see data/departments.yaml) and one place; its parent is the unit
of the same department one level up (a village committee's parent is the township
government). Staff accounts are kept as counts per role only - no personal data.

Sources:
- the shipped small directory: a YAML *spec* (workorders/data/directory.yaml) that
  lists places; units are expanded from data/departments.yaml;
- a full-size directory: JSON lines (optionally gzip) written by scripts/gen_directory.py.

Lookups used on the hot path (dispatch, location extraction) are dict-based:
(department, place_id) -> unit, parent chains, place names -> places.
"""
from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator

import yaml

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_SPEC = DATA_DIR / "directory.yaml"
DEPARTMENTS_FILE = DATA_DIR / "departments.yaml"
FORMAT = "govdesk-directory/1"

LEVELS = ("prefecture", "county", "township", "village")
LEVEL_RANK = {lvl: i for i, lvl in enumerate(LEVELS)}
LEVEL_ZH = {"prefecture": "市级", "county": "县级", "township": "乡镇级", "village": "村级"}
STAFF_ROLES = ("dispatcher", "handler", "reviewer")


_SHORT_PLACE_FOLLOWER = re.compile(r"这边|那边|这块|那块|这一片|那一片|一带|小学|中学|村委|村口")


class DirectoryError(ValueError):
    """The directory data is malformed or a lookup was asked with bad arguments."""


@dataclass(frozen=True, slots=True)
class Department:
    id: str
    name: str
    kind: str = "government"


@dataclass(frozen=True, slots=True)
class Place:
    id: str
    name: str
    level: str
    parent_id: str | None
    short: str = ""


@dataclass(frozen=True, slots=True)
class Unit:
    id: str
    name: str
    department: str
    level: str
    parent_id: str | None
    place_id: str
    kind: str = "government"
    roles: tuple[str, ...] = ("handle",)
    staff: tuple[tuple[str, int], ...] = ()
    county: str | None = None      # place names, for display and filtering
    township: str | None = None
    village: str | None = None

    @property
    def staff_count(self) -> int:
        return sum(n for _, n in self.staff)

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "department": self.department, "level": self.level,
                "parent_id": self.parent_id, "place_id": self.place_id, "kind": self.kind,
                "roles": list(self.roles), "staff": dict(self.staff), "county": self.county,
                "township": self.township, "village": self.village}


@dataclass(frozen=True, slots=True)
class StaffAccount:
    id: str
    unit_id: str
    role: str


# ----------------------------------------------------------------------------- expansion


def load_departments(path: Path | str = DEPARTMENTS_FILE) -> list[dict]:
    rows = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(rows, list):
        raise DirectoryError(f"{path}: expected a list of departments")
    seen = set()
    for row in rows:
        for key in ("id", "name", "units"):
            if key not in row:
                raise DirectoryError(f"{path}: department {row!r} lacks {key!r}")
        if row["id"] in seen:
            raise DirectoryError(f"{path}: duplicate department id {row['id']!r}")
        seen.add(row["id"])
        bad = set(row["units"]) - set(LEVELS)
        if bad:
            raise DirectoryError(f"{path}: department {row['id']!r} has unknown levels {sorted(bad)}")
    return rows


def expand_spec(spec: dict, departments: list[dict] | None = None) -> tuple[list[dict], list[dict]]:
    """Turn a place spec into (place records, unit records) - plain dicts, JSON-ready.

    spec = {prefecture: {id, name, short}, counties: [{id, name, short, townships: [{id, name,
    short, villages: [names]}], extra_departments?: [ids]}], extra_departments?: [ids],
    staff?: {level: {role: n}}}. Only `core` departments are created unless listed in
    `extra_departments` of the prefecture (top level) or of a county.
    """
    departments = departments if departments is not None else load_departments()
    if not isinstance(spec, dict) or "prefecture" not in spec or "counties" not in spec:
        raise DirectoryError("directory spec needs 'prefecture' and 'counties'")
    staff_defaults = spec.get("staff") or {}
    pref = spec["prefecture"]
    places: list[dict] = []
    units: list[dict] = []
    unit_at: dict[tuple[str, str], str] = {}   # (dept, place_id) -> unit id

    def add_place(pid, name, level, parent, short):
        if not pid or not name:
            raise DirectoryError(f"place without id or name under {parent!r}")
        places.append({"type": "place", "id": pid, "name": name, "level": level,
                       "parent_id": parent, "short": short or ""})

    def add_units(level, place_id, parent_place, names, extra):
        for dept in departments:
            template = dept["units"].get(level)
            if not template or not (dept.get("core", True) or dept["id"] in extra):
                continue
            uid = f"{place_id}-{dept['id']}"
            parent = unit_at.get((dept["id"], parent_place)) if parent_place else None
            if parent is None and parent_place:
                parent = unit_at.get(("zhengfu", parent_place))
            units.append({
                "type": "unit", "id": uid, "name": template.format(**names), "department": dept["id"],
                "level": level, "parent_id": parent, "place_id": place_id,
                "kind": dept.get("kind", "government"), "roles": dept.get("roles", ["handle"]),
                "staff": dict(staff_defaults.get(level, {})),
                "county": names.get("county"), "township": names.get("township"),
                "village": names.get("village")})
            unit_at[(dept["id"], place_id)] = uid

    pid = pref.get("id", "P")
    add_place(pid, pref["name"], "prefecture", None, pref.get("short"))
    base = {"prefecture": pref["name"], "cshort": "", "tshort": ""}
    add_units("prefecture", pid, None, base, set(spec.get("extra_departments", ())))
    for county in spec["counties"]:
        cid = county["id"]
        add_place(cid, county["name"], "county", pid, county.get("short"))
        cnames = dict(base, county=county["name"], cshort=county.get("short") or county["name"][:-1])
        add_units("county", cid, pid, cnames, set(county.get("extra_departments", ())))
        for town in county.get("townships", ()):
            tid = town["id"]
            add_place(tid, town["name"], "township", cid, town.get("short"))
            tnames = dict(cnames, township=town["name"], tshort=town.get("short") or town["name"][:-1])
            add_units("township", tid, cid, tnames, set())
            for i, village in enumerate(town.get("villages", ()), 1):
                vid = f"{tid}V{i:02d}"
                add_place(vid, village, "village", tid, "")
                add_units("village", vid, tid, dict(tnames, village=village), set())
    return places, units


# ----------------------------------------------------------------------------- directory


class Directory:
    """Units, places and staff counts with the indexes dispatch needs."""

    def __init__(self, places: Iterable[dict | Place], units: Iterable[dict | Unit],
                 departments: Iterable[dict | Department] = (), meta: dict | None = None):
        self.meta = dict(meta or {})
        self.departments: dict[str, Department] = {}
        for d in departments:
            d = d if isinstance(d, Department) else Department(d["id"], d["name"], d.get("kind", "government"))
            self.departments[d.id] = d
        self._places: dict[str, Place] = {}
        for p in places:
            p = p if isinstance(p, Place) else Place(p["id"], p["name"], p["level"], p.get("parent_id"),
                                                      p.get("short") or "")
            if p.level not in LEVEL_RANK:
                raise DirectoryError(f"place {p.id}: unknown level {p.level!r}")
            if p.id in self._places:
                raise DirectoryError(f"duplicate place id {p.id!r}")
            self._places[p.id] = p
        self._units: dict[str, Unit] = {}
        self._at: dict[tuple[str, str], str] = {}          # (department, place_id) -> unit id
        self._children: dict[str, list[str]] = {}
        self._at_place: dict[str, list[str]] = {}
        for u in units:
            if not isinstance(u, Unit):
                u = Unit(u["id"], u["name"], u["department"], u["level"], u.get("parent_id"), u["place_id"],
                         u.get("kind", "government"), tuple(u.get("roles") or ("handle",)),
                         tuple(sorted((u.get("staff") or {}).items())), u.get("county"), u.get("township"),
                         u.get("village"))
            if u.id in self._units:
                raise DirectoryError(f"duplicate unit id {u.id!r}")
            place = self._places.get(u.place_id)
            if place is None:
                raise DirectoryError(f"unit {u.id}: unknown place {u.place_id!r}")
            if place.level != u.level:
                raise DirectoryError(f"unit {u.id}: level {u.level!r} differs from its place's {place.level!r}")
            self._units[u.id] = u
            self._at.setdefault((u.department, u.place_id), u.id)
            self._at_place.setdefault(u.place_id, []).append(u.id)
            if u.parent_id:
                self._children.setdefault(u.parent_id, []).append(u.id)
            if u.department not in self.departments:
                self.departments[u.department] = Department(u.department, u.department)
        for u in self._units.values():
            if u.parent_id and u.parent_id not in self._units:
                raise DirectoryError(f"unit {u.id}: unknown parent {u.parent_id!r}")
        self._place_children: dict[str, list[str]] = {}
        for p in self._places.values():
            if p.parent_id:
                if p.parent_id not in self._places:
                    raise DirectoryError(f"place {p.id}: unknown parent {p.parent_id!r}")
                self._place_children.setdefault(p.parent_id, []).append(p.id)
        self._build_name_index()

    # --- basic access
    def __len__(self) -> int:
        return len(self._units)

    @property
    def units(self) -> Iterator[Unit]:
        return iter(self._units.values())

    def unit(self, unit_id: str) -> Unit:
        try:
            return self._units[unit_id]
        except KeyError:
            raise DirectoryError(f"unknown unit id {unit_id!r}") from None

    def get(self, unit_id: str) -> Unit | None:
        return self._units.get(unit_id)

    def place(self, place_id: str) -> Place:
        try:
            return self._places[place_id]
        except KeyError:
            raise DirectoryError(f"unknown place id {place_id!r}") from None

    def get_place(self, place_id: str | None) -> Place | None:
        return self._places.get(place_id) if place_id else None

    def places(self, level: str | None = None) -> list[Place]:
        """All places (optionally of one level) - the gazetteer for location extraction."""
        if level is not None and level not in LEVEL_RANK:
            raise DirectoryError(f"unknown level {level!r}; expected one of {LEVELS}")
        return [p for p in self._places.values() if level is None or p.level == level]

    @property
    def root(self) -> Place:
        return next(p for p in self._places.values() if p.parent_id is None)

    def places_named(self, name: str) -> list[Place]:
        return list(self._names.get(name, ()))

    def place_chain(self, place_id: str) -> dict[str, Place]:
        """{level: Place} from the place up to the prefecture."""
        chain = {}
        pid = place_id
        while pid:
            p = self.place(pid)
            chain[p.level] = p
            pid = p.parent_id
        return chain

    def child_places(self, place_id: str) -> list[Place]:
        return [self._places[i] for i in self._place_children.get(place_id, ())]

    # --- unit lookups
    def at(self, department: str, place_id: str) -> Unit | None:
        """The unit of `department` at exactly that place, or None."""
        uid = self._at.get((department, place_id))
        return self._units[uid] if uid else None

    def find(self, department: str | None = None, level: str | None = None,
             place_id: str | None = None) -> list[Unit]:
        """Units filtered by department, level and place (place = the unit's own place)."""
        if level is not None and level not in LEVEL_RANK:
            raise DirectoryError(f"unknown level {level!r}; expected one of {LEVELS}")
        if department and place_id:
            u = self.at(department, place_id)
            return [u] if u and (level is None or u.level == level) else []
        pool = (self._units[i] for i in self._at_place.get(place_id, ())) if place_id else self._units.values()
        return [u for u in pool if (department is None or u.department == department)
                and (level is None or u.level == level)]

    def units_at(self, place_id: str) -> list[Unit]:
        return [self._units[i] for i in self._at_place.get(place_id, ())]

    def children(self, unit_id: str) -> list[Unit]:
        return [self._units[i] for i in self._children.get(unit_id, ())]

    def parent(self, unit_id: str) -> Unit | None:
        pid = self.unit(unit_id).parent_id
        return self._units[pid] if pid else None

    def lookup_up(self, department: str, place_id: str) -> Unit | None:
        """The unit of `department` at the place or, failing that, the nearest one above it."""
        pid = place_id
        while pid:
            uid = self._at.get((department, pid))
            if uid:
                return self._units[uid]
            pid = self._places[pid].parent_id if pid in self._places else None
        return None

    # --- staff
    def staff_count(self, unit_id: str | None = None) -> int:
        if unit_id is not None:
            return self.unit(unit_id).staff_count
        return sum(u.staff_count for u in self._units.values())

    def staff_accounts(self, unit_id: str) -> list[StaffAccount]:
        """Account ids are derived from the unit id: no names, phones or ID numbers are kept."""
        u = self.unit(unit_id)
        return [StaffAccount(f"{u.id}#{role}{i}", u.id, role) for role, n in u.staff for i in range(1, n + 1)]

    def counts(self) -> dict:
        by_level = {lvl: 0 for lvl in LEVELS}
        for u in self._units.values():
            by_level[u.level] += 1
        bodies = sum(1 for u in self._units.values() if u.level in ("prefecture", "county") and u.kind != "autonomy")
        return {"places": len(self._places), "units": len(self._units), "functional_bodies": bodies,
                "units_by_level": by_level, "staff_accounts": self.staff_count(),
                "villages": sum(1 for p in self._places.values() if p.level == "village"),
                "townships": sum(1 for p in self._places.values() if p.level == "township"),
                "counties": sum(1 for p in self._places.values() if p.level == "county")}

    # --- location extraction
    def _build_name_index(self) -> None:
        names: dict[str, list[Place]] = {}

        def add(name, place):
            if len(name) >= 2:
                lst = names.setdefault(name, [])
                if place not in lst:
                    lst.append(place)

        for p in self._places.values():
            add(p.name, p)
            if p.level == "township" and p.name[-1] in "乡镇":
                add(p.name[:-1] + ("镇" if p.name[-1] == "乡" else "乡"), p)   # people mix 乡/镇
            if p.level == "village" and p.name.endswith("村") and len(p.name) >= 4:
                add(p.name[:-1], p)                                             # 李家庄村 -> 李家庄
            # callers drop the level word: 城关 for 城关镇 (柳树街上, 白石派出所), 西街 for 西街社区.
            # A 社区 is shortened only when the rest is a street-like name (东街, 南关), not 中心.
            if p.level == "township" and p.name[-1] in "乡镇" and len(p.name) >= 3:
                add(p.name[:-1], p)
            if p.level == "village" and p.name.endswith("社区") and len(p.name) >= 4 and p.name[-3] in "街关巷门路":
                add(p.name[:-2], p)
        # a village called by its name without 村 (杨湾 for 杨湾村) only when a place word follows
        # (杨湾这边, 北关小学): two characters alone are too often ordinary words (新桥, 石桥, 下河)
        short: dict[str, list[Place]] = {}
        for p in self._places.values():
            if p.level == "village" and p.name.endswith("村") and len(p.name) == 3 and p.name[:-1] not in names:
                short.setdefault(p.name[:-1], []).append(p)
        self._names = names
        self._short_villages = short
        self._max_name = max((len(n) for n in names), default=0)

    def scan_places(self, text: str) -> list[tuple[str, list[Place]]]:
        """Longest non-overlapping place-name mentions in `text`, left to right."""
        found = []
        i, n, names, longest = 0, len(text), self._names, self._max_name
        while i < n:
            for length in range(min(longest, n - i), 1, -1):
                hit = names.get(text[i:i + length])
                if hit:
                    found.append((text[i:i + length], hit))
                    i += length
                    break
            else:
                hit = self._short_villages.get(text[i:i + 2])
                if hit and _SHORT_PLACE_FOLLOWER.match(text, i + 2):
                    found.append((text[i:i + 2], hit))
                    i += 2
                else:
                    i += 1
        return found

    def _resolve_ref(self, ref, level: str) -> Place | None:
        if not ref:
            return None
        if isinstance(ref, Place):
            return ref
        ref = str(ref)
        if ref in self._places and self._places[ref].level == level:
            return self._places[ref]
        cands = [p for p in self._names.get(ref, ()) if p.level == level]
        return cands[0] if len(cands) == 1 else None

    def locate(self, text: str, context: dict | None = None) -> dict:
        """Where the request is about: {village, township, county (names), *_id, place_id, source}.

        Text mentions win over the context (e.g. the caller's registered township); an
        ambiguous village name (two 王家村) is resolved by the township/county mentioned or
        known from the context, else left empty.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be str, got {type(text).__name__}")
        ctx = (context or {}).get("location", context or {}) if isinstance(context, dict) else {}
        if not isinstance(ctx, dict):
            ctx = {}
        cand: dict[str, list[Place]] = {"county": [], "township": [], "village": []}
        for _, places in self.scan_places(text):
            for p in places:
                if p.level in cand and p not in cand[p.level]:
                    cand[p.level].append(p)
        ctx_pl = {lvl: self._resolve_ref(ctx.get(lvl) or ctx.get(f"{lvl}_id"), lvl)
                  for lvl in ("county", "township", "village")}
        chosen: dict[str, Place | None] = {"county": None, "township": None, "village": None}
        source = None

        def within(p: Place, anc: Place | None) -> bool:
            return anc is None or self.place_chain(p.id).get(anc.level) == anc

        # county: explicit mention, else nothing yet (derived later)
        if len(cand["county"]) == 1:
            chosen["county"] = cand["county"][0]
        towns = [t for t in cand["township"] if within(t, chosen["county"])]
        if len(towns) == 1:
            chosen["township"] = towns[0]
        vills = [v for v in cand["village"] if within(v, chosen["township"] or chosen["county"])]
        if len(vills) > 1:   # disambiguate by the context's township / county
            for anc in (ctx_pl["township"], ctx_pl["county"]):
                narrowed = [v for v in vills if within(v, anc)] if anc else []
                if len(narrowed) == 1:
                    vills = narrowed
                    break
        if len(vills) == 1:
            chosen["village"] = vills[0]
        elif len(vills) > 1 and chosen["township"] is None:
            parents = {v.parent_id for v in vills}
            if len(parents) == 1:
                chosen["township"] = self._places[parents.pop()]
            elif chosen["county"] is None:
                counties = {self._places[t].parent_id for t in parents}
                if len(counties) == 1:
                    chosen["county"] = self._places[counties.pop()]
        if any(chosen.values()):
            source = "text"
        else:   # nothing usable in the text: fall back to the context
            for lvl in ("village", "township", "county"):
                if ctx_pl[lvl]:
                    chosen[lvl] = ctx_pl[lvl]
                    source = "context"
                    break
        # fill the levels above the most specific place
        for lvl in ("village", "township"):
            if chosen[lvl]:
                chain = self.place_chain(chosen[lvl].id)
                for up in ("township", "county"):
                    if LEVEL_RANK[up] < LEVEL_RANK[lvl] and chosen[up] is None:
                        chosen[up] = chain.get(up)
        most = chosen["village"] or chosen["township"] or chosen["county"]
        return {"village": chosen["village"].name if chosen["village"] else None,
                "township": chosen["township"].name if chosen["township"] else None,
                "county": chosen["county"].name if chosen["county"] else None,
                "village_id": chosen["village"].id if chosen["village"] else None,
                "township_id": chosen["township"].id if chosen["township"] else None,
                "county_id": chosen["county"].id if chosen["county"] else None,
                "place_id": most.id if most else None, "source": source}

    # --- serialisation
    def records(self) -> Iterator[dict]:
        yield {"type": "meta", "format": FORMAT, **self.meta, "counts": self.counts()}
        for d in self.departments.values():
            yield {"type": "department", "id": d.id, "name": d.name, "kind": d.kind}
        for p in self._places.values():
            yield {"type": "place", "id": p.id, "name": p.name, "level": p.level, "parent_id": p.parent_id,
                   "short": p.short}
        for u in self._units.values():
            yield {"type": "unit", **u.to_dict()}

    def dump_jsonl(self, path: Path | str) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "wt", encoding="utf-8") as fh:
            for rec in self.records():
                fh.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
        return path

    @classmethod
    def from_records(cls, records: Iterable[dict]) -> "Directory":
        places, units, depts, meta = [], [], [], {}
        for rec in records:
            kind = rec.get("type")
            if kind == "place":
                places.append(rec)
            elif kind == "unit":
                units.append(rec)
            elif kind == "department":
                depts.append(rec)
            elif kind == "meta":
                if rec.get("format") != FORMAT:
                    raise DirectoryError(f"unsupported directory format {rec.get('format')!r}")
                meta = {k: v for k, v in rec.items() if k not in ("type", "counts")}
            else:
                raise DirectoryError(f"unknown record type {kind!r}")
        if not places or not units:
            raise DirectoryError("directory has no places or no units")
        return cls(places, units, depts, meta)

    @classmethod
    def from_spec(cls, spec: dict, departments: list[dict] | None = None) -> "Directory":
        departments = departments if departments is not None else load_departments()
        places, units = expand_spec(spec, departments)
        return cls(places, units, departments, {"name": spec["prefecture"]["name"], "source": "spec"})


def _read_jsonl(path: Path) -> Iterator[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DirectoryError(f"{path}:{lineno}: bad JSON ({exc.msg})") from None


def load_directory(path: Path | str | None = None) -> Directory:
    """Load a directory: None -> the shipped small one; *.yaml spec; *.jsonl[.gz] or *.json records."""
    if path is None:
        return _default_directory()
    path = Path(path)
    if not path.exists():
        raise DirectoryError(f"directory file not found: {path}")
    name = path.name
    if name.endswith((".yaml", ".yml")):
        return Directory.from_spec(yaml.safe_load(path.read_text(encoding="utf-8")))
    if name.endswith((".jsonl", ".jsonl.gz")):
        return Directory.from_records(_read_jsonl(path))
    if name.endswith(".json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        return Directory.from_records(data if isinstance(data, list) else data.get("records", []))
    raise DirectoryError(f"unsupported directory file {path} (expected .yaml, .jsonl, .jsonl.gz or .json)")


@lru_cache(maxsize=1)
def _default_directory() -> Directory:
    return load_directory(DEFAULT_SPEC)


def default_directory() -> Directory:
    """The process-wide shipped small directory (loaded once)."""
    return _default_directory()
