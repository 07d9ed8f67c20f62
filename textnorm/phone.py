"""Mobile numbers (^1[3-9]\\d{9}$) from spoken or typed text; names read out by parts.

Names: callers describe characters ("耳东陈", "弓长张", "大小的小"); `parse_name` turns
that into characters, `read_back_name` says a name back with the known descriptions.
(Names live here, next to phone numbers, because both are the contact data a form asks for.)
"""
from __future__ import annotations

import re

from textnorm.spoken_numbers import to_digits

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
WRONG_LENGTH, WRONG_PREFIX = "位数不对", "手机号开头不对"   # validate_phone's reasons


def validate_phone(text: str) -> tuple[bool, str, str]:
    """(ok, normalized, reason_zh) for a mobile number; +86/86 prefixes dropped."""
    n = to_digits(text)
    if len(n) == 13 and n.startswith("86"):
        n = n[2:]
    if len(n) != 11:
        return False, n, WRONG_LENGTH
    if not MOBILE_RE.match(n):
        return False, n, WRONG_PREFIX
    return True, n, ""


# ---------------------------------------------------------------- names
# How people spell a character out loud -> the character.
NAME_PARTS = {
    "耳东陈": "陈", "弓长张": "张", "立早章": "章", "木子李": "李", "口天吴": "吴", "双木林": "林",
    "草头黄": "黄", "言午许": "许", "三横王": "王", "文刀刘": "刘", "古月胡": "胡", "人可何": "何",
    "双口吕": "吕", "子小孙": "孙", "走肖赵": "赵", "关耳郑": "郑", "禾呈程": "程", "木易杨": "杨",
    "双人徐": "徐", "耳刀邓": "邓", "又耳邓": "邓", "口十叶": "叶", "宝盖宋": "宋", "三点水沈": "沈",
    "提土王": "王", "日月明": "明", "女良娘": "娘", "双十林": "林", "马路的马": "马",
    "高低的高": "高", "周末的周": "周", "朱红的朱": "朱", "曹操的曹": "曹", "冯": "冯",
}
# Descriptions used when reading back (first listed per character wins).
CHAR_DESCRIPTIONS: dict[str, str] = {}
for _desc, _ch in NAME_PARTS.items():
    if len(_desc) > 1:
        CHAR_DESCRIPTIONS.setdefault(_ch, _desc)
CHAR_DESCRIPTIONS.update({"小": "大小的小", "明": "明天的明", "华": "中华的华", "国": "国家的国",
                          "红": "红色的红", "英": "英雄的英", "军": "解放军的军", "芳": "芬芳的芳",
                          "秀": "优秀的秀", "兰": "兰花的兰", "玉": "玉米的玉", "春": "春天的春",
                          "建": "建设的建", "平": "平安的平", "东": "东西的东", "文": "文化的文"})

_HAN = r"[\u3400-\u9fff]"
_PREFIX_RE = re.compile(r"^(?:不对|不是|错了|对)?[，,。\s]*(?:(?:我的?|他的?|她的?)?名字(?:叫|是|应该是)|姓名(?:是|叫)?|"
                        r"我叫|他叫|她叫|我是|他是|她是|老人叫|老人家叫|孩子叫|叫|是)?")
# "俺叫王桂兰" / "我家老头子叫张德贵" / "额是李翠花": whoever is named, the name follows 叫/是/喊.
_WHO_CALLED_RE = re.compile(r"^[^，,。\s]{0,8}?(?:名字叫|名字是|叫做|叫|喊|是)(?=[\u3400-\u9fff]{2})")
_OF_RE = re.compile(rf"^({_HAN}+)的({_HAN})$")           # 大小的小 -> 小
_SURNAME_RE = re.compile(rf"^(?:姓|我姓|他姓|她姓)({_HAN})$")


def _syllable(ch: str) -> str:
    """Accent-merged toneless syllable, so ASR homophones (程/陈, 张/章) meet."""
    from textnorm.pinyin import merge_accent, syllables  # lazy: only names need pinyin

    syl = syllables(ch)
    return merge_accent(syl[0]) if syl else ch


# How callers describe a character by its parts: "三点水一个告的浩", "草字头的薛", "单人旁两个土的佳".
_PART_WORDS = re.compile(r"三点水|两点水|草字头|竹字头|宝盖|走之|耳朵旁|耳刀旁|加个|加一个|[\u4e00-\u9fff](?:字旁|字头|字底|字边|字框)|单人旁|双人旁|"
                         r"竖心旁|提手旁|[一二两三四五六七八九]个|下面|上面|左边|右边|里面|那个|偏旁|部首")


# "女字旁一个弟" / "女字边个弟": a radical PLUS a character - a phonetic compound that sounds like it
_ADDS_PART = re.compile(r"(?:[\u4e00-\u9fff](?:字旁|字边)|三点水|草字头|单人旁|双人旁|竖心旁|提手旁)(?:加)?一?个")


def _piece_char(piece: str) -> str | None:
    """A described single character, or None when `piece` is plain name text."""
    if piece in NAME_PARTS:
        return NAME_PARTS[piece]
    m = re.match(r"([\u4e00-\u9fff])是", piece)
    if m and len(piece) >= 4 and _PART_WORDS.search(piece):   # "娥是女字旁一个我"
        return m.group(1)
    m = _OF_RE.match(piece)
    if m and (m.group(2) in m.group(1) or _PART_WORDS.search(m.group(1))):
        return m.group(2)
    m = re.fullmatch(rf"(?:{_PART_WORDS.pattern})[\u4e00-\u9fff]{{1,6}}", piece)
    if m and len(piece) >= 3:   # "广字头那个廖" / "鱼字旁一个包": the last character is the one meant
        return piece[-1]
    m = _SURNAME_RE.match(piece)
    if m:
        return m.group(1)
    for desc, ch in NAME_PARTS.items():  # "耳东陈的陈"
        if len(desc) > 1 and piece.startswith(desc):
            return ch
    return None


def _split_fused(piece: str) -> list[str]:
    """'王磊三个石头的磊' -> ['王磊', '三个石头的磊']: a name said straight into its description."""
    if len(piece) <= 4:
        return [piece]
    for i in (2, 3, 4):
        rest = piece[i:]
        if _PART_WORDS.search(piece[:i]) or "的" in piece[:i]:
            return [piece]
        if _PART_WORDS.match(rest) or any(rest.startswith(d) for d in NAME_PARTS if len(d) > 1):
            return [piece[:i], rest]
        m = re.match(r"([\u4e00-\u9fff]{1,3})的([\u4e00-\u9fff]{1,2})", rest)
        if m and all(ch in piece[:i] for ch in m.group(2)) and m.group(2)[0] in m.group(1):
            return [piece[:i], rest]
    for i in (3, 2):   # "谭光明言西早谭": the description ends with a character of the name
        rest = piece[i:]
        if len(rest) >= 3 and rest[-1] in piece[:i] and "的" not in piece[:i]:
            return [piece[:i], rest]
    return [piece]


_WHOSE_SURNAME = re.compile(r"(?:跟|随|和)[\u4e00-\u9fff]{0,4}?姓(?:的)?")


def parse_name(text: str) -> str:
    """'陈小明，耳东陈' -> 陈小明; '耳东陈，大小的小，明天的明' -> 陈小明; '程小明，耳东陈' -> 陈小明."""
    s = (text or "").strip().replace("嘅", "的")
    s = re.sub(r"([\u4e00-\u9fff]{1,2})(?<![一二两三四五六七八九几])(?<!字旁)(?<!字边)(?<!点水)(?<!字头)(?<!人旁)(?<!心旁)(?<!加)个([\u4e00-\u9fff])(?=[，,。\s]|$)", r"\1的\2", s)  # 吴语 "楼房个楼"; "王字边加个其" adds a part
    s = re.sub(r"[（(][^）)]*[）)]", "", s)
    s = re.sub(r"^[嗯啊哦呃噢喂哎唉额]+[，,。\s]*", "", s)
    s = _PREFIX_RE.sub("", s) if _PREFIX_RE.match(s).group(0) else _WHO_CALLED_RE.sub("", s)
    name: list[str] = []                 # characters said plainly
    described: list[tuple[int, str]] = []  # (position among plain chars, described char)
    raw_pieces = [re.sub(r"[^\u3400-\u9fff·]", "", raw) for raw in re.split(r"[，,。、；;\s]+", s)]
    raw_pieces = [p for p in raw_pieces if p]
    # only the first piece can be a name said straight into its description
    pieces = (_split_fused(raw_pieces[0]) + raw_pieces[1:]) if raw_pieces else []
    for piece in pieces:
        piece = re.sub(r"[^\u3400-\u9fff·]", "", piece)
        piece = re.sub(r"[啊呀吧嘛哦呢啦嘞噻哈哟咯]+$", "", piece) if len(piece) > 2 else piece
        if not piece:
            continue
        if len(name) >= 2 and len(piece) > 4 and not re.search(r"的|字|旁|点水|头", piece):
            break   # the name is said; what follows is talk ("他小时候发高烧把耳朵烧坏了")
        if len(name) >= 2 and _WHOSE_SURNAME.fullmatch(piece):
            continue   # "谭一诺，…，跟我姓": whose surname the child has, no part of the name
        if len(name) >= 2 and len(piece) >= 3 and piece[-1] in name and not _PART_WORDS.search(piece[:-1]) \
                and "的" not in piece:
            continue  # "言西早谭", "木土杜": the parts of a character already heard
        if len(name) >= 2 and len(piece) == 1 and piece in name:
            continue  # "…加个耳仔旁，邝": the character just described, said once more
        several = re.fullmatch(r"([\u4e00-\u9fff]+)的([\u4e00-\u9fff]{2})", piece)
        if several and all(c in several.group(1) for c in several.group(2)) and all(c in name for c in several.group(2)):
            continue  # "兴旺的兴旺": confirms two characters already heard
        ch = _piece_char(piece)
        if ch is None and len(name) >= 2 and (_PART_WORDS.search(piece) or "的" in piece):
            continue  # "共产党的共下面一个龙": a description of a character already heard, never more name
        if ch is None:
            name.extend(piece)
        else:
            described.append((len(name), ch, bool(_ADDS_PART.search(piece))))
    inserted = 0
    plain_count = len([c for c in name if c != "·"])
    for pos, ch, adds_part in described:
        if ch in name:
            continue  # confirms a character already heard
        syl = _syllable(ch)
        hit = next((i for i, old in enumerate(name) if old != "·" and _syllable(old) == syl), None)
        if hit is not None and adds_part:
            continue  # "娣，女字旁一个弟": a radical plus 弟 sounds like 弟; the character heard is that one
        if hit is not None:
            name[hit] = ch  # clarifies a homophone (程 -> 陈)
        elif plain_count < 2:   # the name is said only through descriptions ("耳东陈，大小的小…")
            name.insert(pos + inserted, ch)
            inserted += 1
        # else: a described part of a character already heard ("单人旁一个冬天的冬" for 佟)
    return "".join(name)


def correct_name(current: str, text: str) -> str:
    """Apply '名字是耳东陈' to `current`: a single described character replaces its homophone
    (or the surname); a full name replaces everything."""
    new = parse_name(text)
    if len(new) >= 2 or not current:
        return new
    if len(new) == 1:
        syl = _syllable(new)
        for i, old in enumerate(current):
            if _syllable(old) == syl:
                return current[:i] + new + current[i + 1:]
        return new + current[1:]  # "是耳东陈" with no homophone: the surname was meant
    return current


def validate_name(name: str) -> tuple[bool, str]:
    """(ok, reason_zh). Chinese names of 2-6 characters (· allowed for minority names)."""
    if not name:
        return False, "没听清名字"
    if not re.fullmatch(r"[\u3400-\u9fff·]{2,12}", name):
        return False, "名字要说中文"
    if "·" not in name and len(name) > 4:   # Han names have 2-4 characters: this was a sentence
        return False, "没听清名字，请只说名字"
    if re.fullmatch(r"(?:我|俺|咱|他|她|你|伊|额)(?:自己|自个儿?|的|们|家)?|自己.*|本人", name):
        return False, "请说名字"   # "我自己" answers "给谁办", it is not a name
    if len(name.replace("·", "")) < 2:
        return False, "请说全名，姓和名都要"
    return True, ""


def read_back_name(name: str) -> str:
    """'陈小明' -> '陈，耳东陈；小，大小的小；明，明天的明' (plain character when no description)."""
    parts = []
    for ch in name:
        desc = CHAR_DESCRIPTIONS.get(ch)
        parts.append(f"{ch}，{desc}" if desc else ch)
    return "；".join(parts)
