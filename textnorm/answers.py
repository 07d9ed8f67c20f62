"""Answers understood in the context of the question: one parser per kind of answer, used by
every guided flow (bot/actions/forms.py), the 12345 intake and rating forms, and the voice
front end. Pure functions over text; no Rasa, no I/O.

    yes_no(text, question)   True / False / None (not an answer)
    relation(text)           self | spouse | parent | child | relative | other | None
    rating(text)             非常满意 | 满意 | 基本满意 | 不满意 | 非常不满意 | None
    dont_know(text)          "不记得/不知道"
    no_phone(text)           "没有电话 / 不想留"
    this_number(text)        "就这个号 / 留我的": the number the caller is calling from
    anonymous(text)          "不想留名 / 怕人家晓得是我"
    withholds(text)          "号码勿想在微信里打出来": the caller will not say the number asked for
    declines_help(text)      "我自己在手机上弄就行，不用登记了"

Why clause scope: "是的嘛，上个月补的还没拿到" answers "还没拿到吗？" with yes; the 没 belongs
to the echo of the question, not to the answer. The first clause that is an answer decides;
an echo of the question's own negated phrase ("还没拿到") agrees with it.
"""
from __future__ import annotations

import re
import unicodedata

_PARTICLES = "啊呀吧嘛哦呢啦嘞咧噻哈哇呐喽嗷么撒哟额咯哒哩滴的了嘅喇啰"
_LEADING = re.compile(r"^(?:喂|哎呀|哎|嗯那|那个|那|就|这个|呃|额|唉|应该|可能|大概|好像|估计|我看|我想)+")
_YES_EXACT = {
    "是", "是的", "对", "对的", "嗯", "嗯嗯", "好", "好的", "可以", "行", "要", "要的", "需要", "没错", "中", "得行",
    "要得", "对头", "是滴", "是嘞", "嗯呐", "成", "没问题", "当然", "是啊", "好啊", "行啊", "要啊", "有", "有的",
    "能", "能的", "会", "会的", "够", "够了", "拿到了", "拿到", "在办", "系", "系啊", "肯定", "恩", "有有有",
    "对对", "是是", "对着呢", "是撒", "晓得", "可以的", "行的", "有啊", "能啊", "会啊", "拿到啦", "就是",
    "正是", "确定", "同意", "ok", "yes", "好嘞", "得嘞", "妥", "好滴", "要得嘛", "办", "办吧", "登记吧", "是呀",
    "好去", "好去个", "去得", "会一点", "会点", "识", "识得", "晓得用", "开了", "早拿了", "拿着了", "领的", "领着",
    "对呀", "嗯对", "嗯是", "中中", "么得问题", "冇问题", "没得问题", "可以可以", "好好", "嗯好", "要要",
    "冇错", "唔错", "没得错", "莫错", "勿错",
    "啱", "啱啱", "啱嘅", "啱晒", "好啱", "冇错嘅", "系嘅", "系啦", "系呀", "对嘅",   # 粤: 啱 = right
}
_NO_EXACT = {
    "不", "不是", "不对", "没有", "没", "不要", "不用", "不用了", "不需要", "莫得", "冇", "冇有", "不得行", "不行",
    "不中", "没得", "否", "错了", "不对头", "不是的", "不要了", "用不着", "甭了", "不必了", "不必", "不了",
    "没了", "没有了", "唔系", "唔要", "唔使", "不消", "不得", "莫有", "冇得", "no", "不想", "还没有", "还没",
    "不会", "不能", "不够", "没拿到", "不能够", "不太会", "不大会", "走不动", "动不了", "不够用", "哪里够",
    "哪够", "够啥", "够什么", "没到", "木有", "母有", "呒没", "勿是", "勿要", "伐", "不晓得", "不记得",
    "没交够", "不满", "不在", "没办", "没在办", "不去", "不坐", "不出门", "不走", "没打算",
    "唔识", "唔会", "唔得", "去唔到", "冇得", "勿会", "勿来事", "弗会", "不会用", "唔识用", "勿去", "唔去",
    "唔啱", "唔对", "唔系", "唔系啊",
}
_YES_START = ("是的", "是啊", "是嘛", "对的", "对头", "对啊", "对呀", "嗯", "有的", "有啊", "能的", "会的", "要的",
              "好的", "可以", "没错", "对", "是", "要得", "够了", "够的", "会用", "能用", "拿到了", "够", "有", "能",
              "会", "要", "在", "交够", "拿到", "办了", "行", "拿着", "拿上", "拿了", "有了", "到手", "办好了", "开了",
              "开好了", "开到了", "领了", "交了")
_A_NOT_A = re.compile(r"([\u4e00-\u9fff])(?:不|没)\1([\u4e00-\u9fff]{0,2})")   # 要不要坐 / 够不够吃 / 有没有人
_NO_START = ("不是", "不对", "没有", "不要", "不用", "不会", "不能", "不够", "莫得", "没得", "冇", "没", "不", "哪里",
             "哪够", "木有", "勿")
# Phrases whose 没/不 is not a refusal.
_NOT_NEGATION = ("没错", "没问题", "不错", "没得问题", "么得问题", "冇问题", "不客气", "不得了", "冇错", "唔错", "没得错",
                 "莫错", "无错", "勿错")
_ECHO_NEG = re.compile(r"(?:还)?(?:没|不)[\u4e00-\u9fff]{1,3}")
# "他哪都不去，就在屋头喂鸡", "啥也没有": nowhere / nothing at all is a no
_NOWHERE = re.compile(r"(?:哪|哪儿|哪里|哪块|哪哈|哪搭|啥子?地方|什么地方|哪个地方)(?:都|也|哪都)(?:不|没|莫|勿|唔|冇|未)")
_RHETORICAL_NO = re.compile(r"哪里(够|有|能|会|行)|哪(够|有)|够啥|够什么|有啥用|怎么够|咋够|哪个(会|能|有|晓得|懂)|"
                           r"谁(会|能|懂)|哪有人|没人会|冇人识|哪个人会")


# "还能用不", "能换不", "中不": a verb then 不/没 closing the clause asks (北方), it says no no
_ASKS_BACK = re.compile(r"(?:能|会|可以|行|中|成|用|换|办|补|领|要|有|得)[^不没]{0,2}(?:不|没|没有)$")


def _norm(text: str) -> str:
    t = unicodedata.normalize("NFKC", text or "").lower().strip()
    return t


def _core(clause: str) -> str:
    c = re.sub(r"[\s，,。.!！?？~～…]", "", clause)
    c = _LEADING.sub("", c)
    c = c.rstrip(_PARTICLES) or c
    c = re.sub(r"(.)\1{2,}", r"\1\1", c)  # 对对对对 -> 对对
    return c


def bare_yes_no(text: str) -> bool | None:
    """True/False when every clause is a bare yes or no word (对的，没错 / 没有啊), else None: the voice front
    end snaps only such answers to 是的/不对 (a longer answer goes to the bot as heard)."""
    parts = clauses(text)
    if not parts:
        return None
    kinds: set = set()
    for c in parts:
        words = _bare_words(c)
        if words is None:
            return None
        kinds |= {w in _YES_EXACT for w in words}
    return kinds.pop() if len(kinds) == 1 else None


def _bare_words(clause: str, depth: int = 3) -> list[str] | None:
    """The clause as up to `depth` bare yes/no words (不对不对, 嗯对的), longest first; None otherwise."""
    if not clause:
        return []
    if depth == 0:
        return None
    for n in range(min(len(clause), 4), 0, -1):
        head = clause[:n]
        if head in _YES_EXACT or head in _NO_EXACT:
            rest = _bare_words(clause[n:].lstrip(_PARTICLES), depth - 1)
            if rest is not None:
                return [head, *rest]
    return None


def clauses(text: str) -> list[str]:
    return [c for c in (_core(p) for p in re.split(r"[，,。.!！?？；;、\s]+", _norm(text))) if c]


def _clause_answer(c: str, question: str, raw: str = "") -> bool | None:
    if not c:
        return None
    for form in (c, raw):
        if form in _YES_EXACT:
            return True
        if form in _NO_EXACT:
            return False
    if any(p in c for p in _NOT_NEGATION):
        return True
    if _ASKS_BACK.search(re.sub(r"[嘛呢啊吧哦呀撒]+$", "", raw or c)):
        return None   # "这玩意儿还能用不": a question of the caller's own, no answer
    if _RHETORICAL_NO.search(c) or _NOWHERE.search(c):
        return False
    # The question's own negated phrase echoed ("还没拿到吗？" -> "还没拿到") agrees with it.
    if question:
        for m in _ECHO_NEG.finditer(question):
            phrase = m.group(0).lstrip("还").rstrip("吗呢么吧")
            if len(phrase) >= 2 and phrase in c.replace("没有", "没"):
                return True
    # "能自己出门走动吗？" -> "走不动" / "走勿动" / "出不了门": a negated echo of the question's verb
    if question and re.search(r"[\u4e00-\u9fff](?:不|没|勿|唔|冇)[\u4e00-\u9fff]", c):
        verb = re.search(r"([\u4e00-\u9fff])(?:不|没|勿|唔|冇)([\u4e00-\u9fff])", c)
        if verb and (verb.group(1) in question or verb.group(2) in question):
            return False
    if re.search(r"[\u4e00-\u9fff](?:不了|不动|不起|勿动|唔到|不到)", c) and not c.startswith(("是", "对", "能", "会")):
        return False   # "下不了炕", "去唔到": cannot
    # "最近要不要坐火车？" -> "下个月要坐火车": the question's A said without negation
    if question:
        for m in _A_NOT_A.finditer(question):
            a = m.group(1)
            if re.search(rf"[不没莫冇未别]{a}", c):
                return False
            if a in c and not re.search(r"[不没莫冇未别]", c):
                return True
            verb = m.group(2)[:1]
            if verb and c.startswith(verb) and len(c) <= 4 and not re.search(r"[不没莫冇未别]", c):
                return True   # "最近要不要坐火车？" -> "坐"
    if re.search(r"[\u4e00-\u9fff]得(?:动|了|到|去|来|起|成)?$", c) and not re.search(r"[不没勿唔冇]", c) \
            and len(c) <= 6:
        return True    # "走得动", "去得", "办得成": can
    for w in _NO_START:
        if c.startswith(w):
            return False
    for w in _YES_START:
        # a one-character start only in a short answer ("有人在撬我家门" is not "有")
        if c.startswith(w) and (len(w) > 1 or len(c) <= 4):
            return True
    return None


_FUNCTION_BIGRAMS = {"是不", "不是", "有没", "没有", "是吗", "了吗", "您是", "您现", "现在", "还是", "要不", "不要"}


_VERBS = "领交走去拿开会能有够用办住"


def _echo(c: str, question: str) -> bool | None:
    """The clause repeats the question's content ("会用" for "您会用微信交钱吗？"): a yes, or a
    no when a negation stands right before the repeated words."""
    q = re.sub(r"[^\u4e00-\u9fff]", "", question or "")
    for i in range(len(c) - 1):
        bigram = c[i:i + 2]
        if bigram in _FUNCTION_BIGRAMS or bigram not in q or re.search(r"[不没莫冇未别]", bigram):
            continue
        if i > 0 and c[i - 1] in "不没莫冇未别" or (i > 1 and c[i - 2:i] in ("不会", "不能", "没有")):
            return False
        return not re.search(r"[不没莫冇未]", c)
    # one key verb of the question said back ("他领的" for "在领养老金吗？", "交了十五年整")
    for v in _VERBS:
        if v in q and v in c and len(c) <= 16:
            return not re.search(rf"[不没莫冇未勿唔]{v}|{v}[不没勿唔]", c)
    return None


_NEGATORS = "不没勿唔冇莫未别"
_OFFER = re.compile(r"(?:帮|替)(?:您|你)")
_SELF_DO = re.compile(r"(?:我|俺|咱|额|阿拉)?自(?:己|个儿?|家)(?:个)?(?:在[^，,。？?\s]{1,5}?(?:上|里))?"
                      r"(?:来|弄|办|交|去|搞|整|做|认证|操作|刷|会弄|会办|能弄|能办)")   # 自己在手机上弄


_DECLINE_HELP = re.compile(r"(?:不用|不要|甭|唔使|勿要|不必|先不|莫)(?:你|侬|您)?(?:帮|替)?(?:我|俺|阿拉)?(?:登记|报|办|弄|麻烦)|"
                           r"不登记|唔登记|勿登记")


def _does_it_herself(t: str) -> bool:
    """"那我自己弄" - not "我自己弄不了" / "自己办不来"."""
    return any(not re.match(r"(?:不|勿|唔|没|冇|莫)", t[m.end():]) for m in _SELF_DO.finditer(t))


_NO_THANKS = {"不用", "不用了", "不要", "不要了", "不需要", "不必", "不必了", "甭了", "唔使", "唔使啦", "勿要", "不消",
              "用不着", "不了", "不麻烦了", "不麻烦"}   # a no to an offer of help, as a whole clause
# Putting the matter off: "那就先不弄", "俺等到八十再说", "拿好再来", "满咗八十再打嚟", "我就问问"
_PUT_OFF = re.compile(r"先不(?:弄|办|搞|整|登记|申请|交|报|麻烦)|"
                      r"(?:等|到|满|过|拿到|拿好|拿了|有了|办好|弄好|问好|问清)[^，,。？?\s]{0,10}再(?:说|讲|来|打|办|弄|申请|登记|嚟|去)|"
                      r"(?:回头|以后|过后|下回|下次)再(?:说|讲|来|打|办|弄)|(?:就|只|只是|随便)(?:问问|问一下|问下|了解一下|打听一下)|"
                      # "那我还要等好几年哦", "咁即系要等到60岁先得": not yet eligible, she waits
                      r"(?:还|就|即系|仲)?要等(?:到[^，,。？?\s吗么]{1,6}(?:岁|年|月|以后|之后|先得|才行)|好几年|几年|好多年|好些年)(?![吗么伐])")


def declines_help(text: str) -> bool:
    """"那我自己在手机上弄就行，不用登记了" / "那先不登记了" / "那中，俺等到八十再说": the caller
    turns down the offer to register, however long the sentence around it (she does it herself,
    or later). A clause that asks ("不用登记吗？") turns nothing down; a first clause that is a
    bare no ("那不用了，我自己…") does."""
    parts = [p for p in re.split(r"[，,。.!！；;…\s]+|(?<=[？?])", _norm(text)) if p]
    said = [p for p in parts if not re.search(r"[吗么伐][？?]?$|[？?]$", p)]
    first = _core(parts[0]) if parts else ""
    if said and said[0] is parts[0] and first in _NO_THANKS:
        return True
    return any(_DECLINE_HELP.search(p) or _PUT_OFF.search(p) or _does_it_herself(p) for p in said)


# "偷倒不是", "偷嘛倒没有", "偷可唔系": the word said first, then denied right after it
_DENIED_AFTER = re.compile(r"^[的嘛呢吧哦啊]?(?:倒|倒也|那倒|也|可|就)?(?:不是|没有|没得|唔系|勿是|莫得|冇)")


# "哪个偷他那个嘛", "谁会偷个身份证": who would do that? - nobody did
_WHO_WOULD = re.compile(r"(?:哪个|哪一个|谁|哪有人|哪里有人|哪个人)(?:会|要|敢|来)?$")


def _negated(text: str, start: int, end: int | None = None) -> bool:
    """A negator earlier in the same clause ("不是被偷", "没得哪个偷", "唔系俾人偷"), a denial
    right after the word ("偷倒不是") or a rhetorical "who would" in front ("哪个偷他那个嘛"):
    the word is denied."""
    clause_start = max((text.rfind(p, 0, start) for p in "，,。.!！?？；;、 "), default=-1) + 1
    if end is not None and _DENIED_AFTER.match(text[end:]):
        return True
    return any(n in text[clause_start:start] for n in _NEGATORS) or (
        bool(_WHO_WOULD.search(text[clause_start:start])) and end is not None
        and not re.match(r"[的了走掉去]", text[end:end + 1]))   # "哪个偷的不晓得": someone did


def _drop_echoed_questions(t: str, question: str) -> str:
    """Without the clauses that ask the question's own word back ("偷？那倒不是…", "出门？我一年到头都在
    屋头"): the caller repeats what was asked before answering it, so the echo is no yes."""
    if not question:
        return t
    parts = re.split(r"([?？])", t)
    kept = []
    for i in range(0, len(parts), 2):
        piece, mark = parts[i], parts[i + 1] if i + 1 < len(parts) else ""
        last = re.split(r"[，,。.!！；;、\s]+", piece)[-1]
        core = _core(last)
        if mark and core and len(core) <= 4 and core in question:
            piece = piece[:len(piece) - len(last)]
            mark = ""
        kept.append(piece + mark)
    return "".join(kept).strip("，,。 ")


def yes_no(text: str, question: str = "", yes_words=(), no_words=(), late_no_words=()) -> bool | None:
    """True/False/None. Question-specific words first (no_words, yes_words, then late_no_words:
    "摸掉了" is stolen although "掉了" alone would be lost), then the first clause that is an
    answer. "我叫黄有福" is not a yes (no clause is an answer)."""
    t = _norm(text)
    if not t:
        return None
    t = t.replace("没有", "没") if any("没" in w and "没有" not in w for w in (*yes_words, *no_words)) else t
    t = _drop_echoed_questions(t, question)
    if not t:
        return None
    if any(w in t for w in no_words):
        return False
    first = clauses(t)[:1]
    if first and not re.search(r"[不没未莫别]", question or "") and _bare_words(first[0]) \
            and all(w in _NO_EXACT for w in _bare_words(first[0])):
        return False   # "莫得莫得，哪个偷我的嘛，是我自己搞掉了": the no comes first; the rest explains it
    said = [_negated(t, m.start(), m.end()) for w in yes_words for m in re.finditer(re.escape(w), t)]
    if said and not all(said):
        return True
    if said:   # "勿是偷额" / "没得哪个偷" / "唔系俾人偷嘅": the question's word, denied
        return False
    if any(w in t for w in late_no_words):
        return False
    if _does_it_herself(t) and _OFFER.search(question or ""):
        return False   # "要我帮您登记吗？" - "那我自己弄": the caller does it herself
    cl = clauses(t)
    raws = [re.sub(r"[\s，,。.!！?？~～…]", "", p) for p in re.split(r"[，,。.!！?？；;、\s]+", t)]
    raws = [r for r in raws if r]
    for i, c in enumerate(cl):
        got = _clause_answer(c, question or "", raws[i] if i < len(raws) else "")
        if got is not None:
            return got
    for c in cl:
        got = _echo(c, question)
        if got is not None:
            return got
    return None


# ---------------------------------------------------------------- relations
_RELATIONS = (  # checked in this order: 隔壁阿婆 is a neighbour, 孩子他妈 a spouse, 孙娃 a relative, 姑娘 a child
    ("other", ("隔壁", "邻居", "邻舍", "朋友", "同事", "老乡", "别人家")),
    ("parent", ("老汉儿", "我老汉儿")),   # 西南: 老汉儿 is the father
    ("parent", ("爷老子", "我爷老子", "俺爷老子")),   # 湘: 爷老子 is the father, not a grandfather (我爷)
    # grandparents and grandchildren are relatives (亲属), not parents or children
    ("relative", ("爷爷", "奶奶", "外公", "外婆", "姥姥", "姥爷", "阿嫲", "阿嬷", "嫲嫲", "阿爷", "阿公", "阿婆", "孙子", "孙女",
                  "外孙", "孙儿", "孙娃", "额爷", "俺爷", "我爷", "咱爷", "额奶", "俺奶", "我奶", "我个孙", "我孙",
                  "俺孙", "额孙", "阿拉孙")),
    ("parent", ("老豆", "老窦", "老母", "阿爸", "阿妈")),   # 粤: 老豆 is the father, 老母 the mother
    ("spouse", ("老伴", "爱人", "老婆", "老公", "丈夫", "妻子", "媳妇儿", "对象", "孩子他爸", "孩子他妈", "孩子她妈",
                "老汉", "老头子", "老头儿", "老头", "老太婆", "老婆子", "那口子", "屋里头的", "屋里的", "当家的",
                "俺男人", "我男人", "我女人", "俺女人", "堂客", "婆娘", "老倌", "娃他爸", "娃他妈",
                "娃儿他爸", "娃儿他妈", "先生", "太太")),
    ("relative", ("孙子", "孙女", "外孙", "孙儿", "孙娃", "孙孙", "外甥", "侄", "哥哥", "大哥", "我哥", "俺哥", "姐姐", "大姐",
                  "我姐", "俺姐", "弟弟", "兄弟", "妹妹", "我妹", "俺妹", "亲戚", "叔", "姨", "舅", "姑姑", "姑妈",
                  "阿弟", "阿哥", "阿妹", "我弟", "俺弟", "小弟", "阿拉弟",   # 吴/粤: 阿弟 is the younger brother
                  "家里人", "婶", "伯", "嫂")),
    ("child", ("儿子", "女儿", "孩子", "小孩", "娃", "闺女", "宝宝", "幺儿", "崽", "丫头", "姑娘", "仔", "个女", "囡",
               "俺儿", "我儿", "给儿", "小子")),
    ("parent", ("妈", "娘", "爸", "爹", "父亲", "母亲", "老人家", "公公", "老公公", "婆婆", "岳父", "岳母", "老父亲", "老母亲",
                "阿爸", "阿妈", "老爷子", "老太太", "老人")),
    ("other", ("邻居", "朋友", "别人", "村里", "帮人", "同事", "老乡")),
)
_SELF = ("我自己", "自己", "本人", "给我办", "我的", "俺自己", "就我", "我本人", "给俺", "俺的", "为我", "是我",
         "给我的", "我要办", "我办", "自个", "自家", "我自家", "额自己", "自己个", "俺个人", "我个人", "阿拉自家",
         "侬自家", "我自己个", "就是我", "我嘛", "俺家", "我家", "咱家", "俺哩", "我哩", "写俺", "写我",
         "各人", "我各人", "俺各人")   # 西南: 各人 is oneself


# "自己/本人/我个人" name the caller wherever they stand; "我的/给我" only when no one else is named
_SELF_OWN = tuple(w for w in _SELF if "自" in w or "本人" in w or "个人" in w or "各人" in w)   # 我个人: myself alone


_CLAUSE_END = "，,。.!！?？；;、… 啊呀嘛哦呢啦嘞"
# "阿姨问一下，我今年满六十了": calling the listener 阿姨/大姐/老妹儿 names no relative
_VOCATIVE = re.compile(r"^(?:喂|你好|您好|[，,\s])*(?:阿姨|大姨|大姐|大哥|老妹儿?|妹子|小妹|姑娘|同志|师傅|小伙子|领导|老师)"
                       r"(?=[，,\s啊呀哈嘛]|问|请问|我|俺|额|阿拉|你|侬|帮)")


# 老汉: the husband (北方) or the father (西南); 老头: the husband or the father
_AMBIGUOUS = re.compile(r"老汉(?!儿)|老头")


# "我和我老头两个都要交，先给我个人交嘛": of several, the clause that picks one for now decides
_PICKS_ONE = re.compile(r"(?:先|只)(?:给|帮|替|办)")


# "我是伊囡儿", "俺是他闺女": the caller says who SHE is to the beneficiary, the relation seen from the other side
_SELF_DESCRIBED = re.compile(r"^(?:我|俺|额|阿拉|偶|吾)(?:是|系|就是)(?:他|她|伊|佢|渠|他们|伊拉)(?:的|个|嘅|家)?(?=.)")
_INVERSE = {"child": "parent", "parent": "child", "spouse": "spouse", "relative": "relative"}


# "就是老杨", "屋头老王": 老 + a surname names a peer (a husband), never a father
_PEER = re.compile(r"(?:就是|是|叫|喊)?(?:我们|我家|俺家|屋头|屋里|阿拉)?老([\u4e00-\u9fff])[嘛哈噻啊呀]?")
_NOT_SURNAME = set("人大小二三四五六七八九十家师板总伴头汉婆公爷娘子妈爸太乡表哥姐弟妹实婆几")


def _peer_name(part: str) -> bool:
    m = _PEER.fullmatch(part)
    return bool(m) and m.group(1) not in _NOT_SURNAME


def relation(text: str) -> str | None:
    """Whom it is for: the person named first ("俺自个儿，老伴儿的回头再说" is the caller;
    "给我老汉儿办，就是我爸" the father); at one place the longer word, then the table's order
    (孩子他妈 is a spouse, 隔壁阿婆 a neighbour). 媳妇 alone is ambiguous (wife / daughter-in-law):
    wife, as callers mean. A later clause that picks one ("先给我个人交") decides. A clause in which
    the caller says who she is ("阿拉爷，我是伊囡儿") names the beneficiary only from the other side:
    another clause that names someone decides, else the inverse (a daughter calls for a parent)."""
    parts = [p for p in re.split(r"[，,。！!？?；;\s]+", _norm(text)) if p]
    described = [p for p in parts if _SELF_DESCRIBED.match(p)]
    if described:
        others = [p for p in parts if p not in described]
        named = relation("，".join(others)) if others else None
        if named not in (None, "self"):
            return named
        seen = _relation(_SELF_DESCRIBED.sub("", described[0]))
        return _INVERSE.get(seen or "", named)
    if len(parts) > 1:
        picked = next((_relation(p) for p in parts if _PICKS_ONE.search(p) and _relation(p)), None)
        if picked:
            return picked
        if _AMBIGUOUS.search(parts[0]) or "老汉儿" in parts[0]:
            if any(_peer_name(p) for p in parts[1:]):
                return "spouse"   # "给我老汉儿办，就是老杨": 老+surname is how one calls a husband, not a father
            # "我老汉，我爸爸": a word that means the husband in one place and the father in another,
            # then said plainly
            plain = next((r for r in map(_relation, parts[1:]) if r not in (None, "self", "other")), None)
            if plain:
                return plain
    return _relation(text)


def _relation(text: str) -> str | None:
    t = _VOCATIVE.sub("", _norm(text))
    t = re.sub(r"(阿拉|伲|吾)爷(?!爷)", r"\1爸", t)   # 吴: 阿拉爷 is my father (北方 我爷 a grandfather)
    t = re.sub(r"贼娃子?|贼娃儿|小偷|扒手|贼", "", t)   # 西南: 贼娃子 is a thief, nobody's child
    t = t.replace("媳妇", "媳妇儿") if "儿媳" not in t else t.replace("儿媳妇", "亲戚").replace("儿媳", "亲戚")
    found = []
    for rank, (value, words) in enumerate((*_RELATIONS, ("self", _SELF_OWN))):
        for w in words:
            at = t.find(w)
            after = t[at + len(w):at + len(w) + 1]
            then = t[at + len(w) + 1:at + len(w) + 2]
            if at >= 0 and not (value == "self" and after and after in "的嘅个额"
                                and then and then not in _CLAUSE_END):
                found.append((at, -len(w), rank, value))   # "我自己的老伴" is the spouse; "我自己的，…" me
    if found:
        return min(found)[3]
    if any(w in t for w in _SELF):
        return "self"
    if _core(t) in ("我", "俺", "自己", "咱", "偶", "额", "阿拉", "侬自己"):
        return "self"
    return None


# ---------------------------------------------------------------- ratings
LEVELS = ("非常满意", "满意", "基本满意", "不满意", "非常不满意")
_RATING = (
    ("非常不满意", r"非常不满意|很不满意|太差|极差|一点都?不满意|差劲|太不像话|气死|稀烂|差得很|相当不满意|特别不满意|糟糕透"),
    ("不满意", r"不满意|不咋满意|不太满意|不大满意|差评|不咋地|不怎么样|不好|不行|没办好|不得行|不中|不巴适|不咋样|马虎|敷衍"),
    ("基本满意", r"基本满意|还行|还可以|一般|凑合|将就|马马虎虎|过得去|还好|勉强|一般般|还算可以|差不多"),
    ("非常满意", r"非常满意|很满意|太满意|特别满意|好评|太好了|非常好|巴适得很|安逸得很|满意得很|杠杠的|顶呱呱|十分满意|没得说|巴适得板|好得很|最高|满分|五星|好极了|没得挑|没话说"),
    ("满意", r"满意|巴适|安逸|不错|挺好|蛮好|好评"),
)
# One-character words rate only when they are the whole answer ("好", "行"), never inside a
# story ("路修好了，来评价" is no rating yet).
_WEAK_RATING = {"好": "满意", "好的": "满意", "中": "满意", "行": "满意", "可以": "满意", "还好": "基本满意"}
_KEYPAD = {"幺": "非常满意", "1": "非常满意", "2": "满意", "3": "基本满意", "4": "不满意", "5": "非常不满意",
           "一": "非常满意", "二": "满意", "两": "满意", "三": "基本满意", "四": "不满意", "五": "非常不满意"}


_RATING_DIALECT = (("唔多", "不太"), ("勿大", "不太"), ("唔", "不"), ("勿", "不"), ("弗", "不"), ("交关", "非常"), ("老满意", "很满意"),
                   ("忒", "太"), ("好满意", "很满意"),   # 粤/吴 negators and intensifiers
                   ("吾分", "五分"), ("伍分", "五分"))   # the recogniser's 五 before 分 ("打吾分")


# The question said back, A-not-A: 满意不满意, 满不满意, 满意唔满意 (唔 is 不 by now)
_RATING_QUESTION = re.compile(r"(?:非常|很)?满意[不没]满意|满[不没]满意")
_RATING_TAKEN_BACK = re.compile(r"说不上|谈不上|也不算|也不是|不对不对|哎不对|唔系|哦不|啊不|哎不是")


def rating(text: str) -> str | None:
    """One of the five 好差评 levels. Hedges count down, never up ("不咋满意" is 不满意)."""
    t = re.sub(r"\s", "", _norm(text))
    t = re.sub(r"(?:还|不|真)?好意思", "", t)   # "你们还好意思叫俺评价" is a reproach, not 还好
    for word, plain in _RATING_DIALECT:
        t = t.replace(word, plain)
    t = _RATING_QUESTION.sub("", t)   # "问俺满意不满意，俺说一下" repeats the question, rates nothing
    if not t:
        return None
    bare = t.strip("。，,.")
    score = re.fullmatch(r"(?:打|给|评)?个?([1-5幺一二两三四五])(?:分|星|颗星)", bare)
    if score:  # "打5分" is a score (5 best), the reverse of the keypad
        return LEVELS[4 - LEVELS.index(_KEYPAD[score.group(1)])]
    key = re.fullmatch(r"(?:按|选)?([1-5幺一二两三四五])(?:号|键)?", bare)
    if key:
        return _KEYPAD[key.group(1)]
    if _core(t) in _WEAK_RATING:
        return _WEAK_RATING[_core(t)]
    # The level said first wins ("一般般吧，不好也不赖" is 基本满意); at one place the longer words
    # ("不咋满意" over "满意"). A caller who takes a level back ("满意……哎，也说不上满意…算基本满意")
    # means the level said last.
    found = []
    for rank, (level, pattern) in enumerate(_RATING):
        for m in re.finditer(pattern, t):
            found.append((m.start(), -(m.end() - m.start()), rank, level, m.end()))
    if not found:
        return None
    if _RATING_TAKEN_BACK.search(t):
        return max(found, key=lambda f: (f[4], -f[1], -f[2]))[3]
    return min(found)[3]


# ---------------------------------------------------------------- misc
_DONT_KNOW = ("不记得", "记不得", "记不清", "不知道", "忘了", "想不起", "不晓得", "没记住", "记不住", "晓不得",
              "勿记得", "记勿得", "勿晓得", "唔知", "冇记", "莫记得",
              "不清楚", "搞不清", "忘记了", "冇记得", "唔记得", "弄不清", "记勿牢", "记不牢", "记唔住", "冇记住",
              "记勿清", "记唔清", "想勿起", "想唔起", "记不到", "记勿到", "记唔到")   # 西南: 记不到
# 勿想留 / 唔想留 / 不想留: "想" between the negator and 留
_NO_PHONE = ("勿想留", "唔想留", "莫想留", "不愿留", "不愿意留", "没有电话", "没电话", "没有手机", "没手机", "莫得电话", "莫得手机", "冇电话", "不用手机",
             "不想留", "不留电话", "不留了", "不方便留", "没得电话", "没得手机", "不给电话", "电话就不留", "不留号",
             "勿留", "唔留",
             "不用回电", "不要回电", "不需要回电", "不必回电", "无需回电", "甭回电", "唔使回电", "勿要回电")   # no callback wanted
_ANON = ("匿名", "不留名", "不想留名", "保密", "怕人家晓得", "怕人知道", "怕被报复", "不要说是我", "别说是我",
         "怕人晓得", "不想让人知道", "不想留电话", "怕报复", "怕他们知道", "不想暴露", "怕伊拉晓得", "怕佢哋知",
         "想让人家晓得", "想让人晓得", "想让人知道", "想俾人知")   # after 不/勿/唔: not wanting it known


# "The number I am calling from": 就这个号, 打呢个号码, 留我的, 就打我这个 (no digits said).
# 个/只/支/部: the measure word of the phone ("就打我这只号码", 吴语 只).
_THIS_NUMBER = re.compile(r"(?:这|呢|依|该|现在这|打进来的?|正在打的?|现在打的?)[个只支部]?(?:号|电话|手机)|本机|来电号"
                          r"|(?:打|留|用)(?:我|俺|阿拉|我们)?(?:这|呢)[个只支部]|(?:打|留|用)(?:我|俺|阿拉)(?:的|嘅|滴)")


# "俺没有手机，这电话是村部的座机": the caller has no number of their own to be called back on
_OWN_NONE = re.compile(r"(?:我|俺|咱|阿拉|额|偶)(?:自己|自个儿?|家)?(?:没有|没得|莫得|冇得?|没)(?:手机|电话)")
_NOT_OWN_LINE = re.compile(r"座机|村部|村委|公用电话|小卖部|邻居")


def this_number(text: str) -> bool:
    """The caller means the number they are calling from (the channel's caller ID). A clause that
    does not know a number ("打俺这个，俺儿那个号俺记不住": the son's) or leaves none ("这个号就不留了")
    does not count; another clause may say someone else has none ("打我这个电话就行，我孙女没手机")."""
    t = _norm(text)
    if _OWN_NONE.search(t) or _NOT_OWN_LINE.search(t):
        return False
    return any(_THIS_NUMBER.search(c) and not dont_know(c) and not no_phone(c)
               for c in re.split(r"[，,。.!！?？；;、…\s]+", t) if c)


def dont_know(text: str) -> bool:
    t = _norm(text)
    return any(w in t for w in _DONT_KNOW)


def no_phone(text: str) -> bool:
    t = _norm(text)
    return any(w in t for w in _NO_PHONE) or anonymous(t)


def anonymous(text: str) -> bool:
    t = _norm(text)
    return any(w in t for w in _ANON)


# "我号码勿想在微信里打出来", "身份证号不方便在电话里讲": not unknown, just not said here
_WITHHOLDS = re.compile(r"(?:不|勿|唔|莫|弗|没)(?:想|愿意?|方便|敢|好意思)(?:在[^，,。！!？?]{1,8}?(?:里|上|头))?"
                        r"(?:说|讲|打|报|发|写|给|输|告诉|透露|念)")


def withholds(text: str) -> bool:
    return bool(_WITHHOLDS.search(_norm(text)))
