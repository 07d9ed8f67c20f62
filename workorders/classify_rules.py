"""Interpretable rules for 12345 intake: emergencies, refusals, urgency and emotion.

Every rule carries a plain-Chinese reason that is shown to the operator, so a
decision can always be explained ("为什么是特急"). Rules favour precision: an
emergency or a refusal is only declared on explicit wording; anything unclear
stays a normal work order for a person to look at.
"""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    code: str
    pattern: re.Pattern
    reason_zh: str

    def search(self, text: str) -> re.Match | None:
        return self.pattern.search(text)


def _r(code: str, pattern: str, reason: str) -> Rule:
    return Rule(code, re.compile(pattern), reason)


# ------------------------------------------------------------------ emergencies (not work orders)
# One component for the bot and for intake: safety/emergency.py with its data (kinds, near-misses)
# in safety/emergencies.yaml.

# ------------------------------------------------------------------ refusals (12345 does not take)
LEGAL_PROCESS = _r(
    "in_legal_process",
    r"(已经|已|正在|还在|在)[^，。]{0,8}(起诉|诉讼|仲裁|复议|信访|上访|法院[^，。]{0,3}(审|起诉)|打官司|官司)|"
    r"(起诉|仲裁|复议|信访|上访|官司)[^，。]{0,8}(了|还在|受理|立案|没判|在等|结果|程序|办理期限)",
    "该事项已进入诉讼、仲裁、行政复议或信访程序，12345热线不再受理，请按原程序继续办理。")
OUTSIDE_REMIT = _r(
    "outside_remit",
    r"法院|法官|中院|检察院|检察官|执行局|判决|党委|党支部|党纪|纪委|入党|部队|军队|营区|民兵",
    "涉及党委、法院、检察院或军队的事务，不属于12345热线受理范围，请向相关机关反映。")
_PRANK = re.compile(r"打着玩|逗你玩|测试一下|无聊|随便打打|聊聊天|聊会|陪我说|就是不说|美女|声音真好听|晚上有空")
_ABUSE = re.compile(r"废物|蠢猪|傻子|傻[Xx逼]|他妈|你妈的|滚|吃干饭|算什么东西|一群骗子|就是要骂|就骂你")
# words that show a real problem is being reported, so rude wording alone is not refused
_ISSUE = re.compile(r"停|水|电|气|路|灯|桥|补贴|低保|保险|证|户口|办|修|工资|钱|房|地|污|垃圾|吵|医|学|车|"
                    r"村|镇|乡|县|漏|坏|塌|偷|骗|打人|投诉|举报")
HARASSMENT_REASON = "来电没有反映具体诉求，属于骚扰、恶作剧或辱骂，不予受理。"


def refusal(text: str) -> dict | None:
    """{code, reason_zh} when 12345 does not take the request, else None."""
    m = LEGAL_PROCESS.search(text)
    if m and not re.search(r"之前|还没(起诉|打官司)|不想", text):
        return {"code": LEGAL_PROCESS.code, "reason_zh": LEGAL_PROCESS.reason_zh, "matched": m.group(0)}
    m = OUTSIDE_REMIT.search(text)
    if m and not re.search(r"退伍|退役|老兵|军属|优待", text):
        return {"code": OUTSIDE_REMIT.code, "reason_zh": OUTSIDE_REMIT.reason_zh, "matched": m.group(0)}
    prank, abuse = _PRANK.search(text), _ABUSE.search(text)
    if prank or abuse:
        rest = _ABUSE.sub("", _PRANK.sub("", text))
        if not _ISSUE.search(rest):
            return {"code": "harassment", "reason_zh": HARASSMENT_REASON, "matched": (prank or abuse).group(0)}
    return None


def emergency(text: str) -> tuple[str, str, str] | None:
    """(number, reason_zh, matched words) for calls that belong to 110/119/120/122."""
    from safety.emergency import detect

    found = detect(text)
    return (found.number, found.reason_zh, found.matched) if found else None


# ------------------------------------------------------------------ urgency
DANGER_RULES: tuple[Rule, ...] = (
    _r("gas_leak", r"(燃气|煤气|天然气|燃汽|液化气)[^，。]{0,8}(漏|味|喷|嘶)|漏气|煤气味|燃气味|臭鸡蛋味|气[^，。]{0,4}往外喷",
       "疑似燃气泄漏，可能危及生命财产安全"),
    _r("live_wire", r"电线[^，。]{0,8}(掉|耷拉|拖|断|打火|火花)|(冒|直冒)火星|火花直冒|打火|变压器[^，。]{0,6}(冒|响)|"
                    r"高压线[^，。]{0,8}(低|碰)|电线杆[^，。]{0,8}(歪|断|倒|晃)",
       "电力设施险情（电线掉落、打火、电杆倾倒），有触电危险"),
    _r("collapse", r"(房|墙|桥|坝|堤|挡土墙|围墙|屋顶|房顶|桥墩)[^，。]{0,10}(塌|垮|裂|咯吱|倒)|"
                   r"(塌|垮)了[^，。]{0,6}(房|墙|桥)",
       "房屋、桥梁或堤坝有垮塌危险"),
    _r("geohazard", r"滑坡|塌方|山洪|泥石流|掉石头|滚石|石头松|滚下来|漫坝|溢洪|坝[^，。]{0,6}渗水|渗水",
       "地质灾害或水利险情（滑坡、山洪、渗水）"),
    _r("open_hole", r"井盖[^，。]{0,6}(不见|没了|丢|烂)|没盖盖子|机井|大洞",
       "道路上有无盖井口或深坑，可能有人坠落"),
    _r("flood", r"进水[^，。]{0,10}(膝盖|腰)|被淹|淹了|水都到|洪水|河水涨",
       "房屋进水或洪水险情"),
    _r("life", r"出人命|要出事|有毒|刺鼻|化工|超载[^，。]{0,10}(娃|孩|学生)|校车[^，。]{0,8}超载|(娃|孩|学生)[^，。]{0,10}超载|走丢|"
               r"好几个[^，。]{0,6}(拉肚子|中毒)",
       "可能危及人身安全"),
)

UTILITY_CUT = _r("utility_cut",
                 r"停水|没水|断水|没有水|不来水|停电|没电|断电|来电|(全|都)黑了|停气|没气|气[^，。]{0,4}打不着|"
                 r"暖气[^，。]{0,6}(不热|停|没有|漏)|冻得|冻裂|上不去水",
                 "水、电、气、暖中断，影响基本生活")
MANY_AFFECTED = _r("many_affected",
                   r"全村|整个村|一村人|整个(组|湾子|小区|街|楼|村)|整条街|全小区|全组|一整片|这一片|"
                   r"[几十百0-9]+(户|口人|家人|个农民工|几个农民工)|好多户|好几户|好多人家|好几个村|几个村|下游",
                   "影响群众较多")
WAGE_ARREARS = _r("wage_arrears", r"(工资|工钱)[^，。]{0,8}(不给|没拿到|拖欠|没发)|欠薪|拖欠工资|跑了",
                  "拖欠工资，影响务工人员生活")
AGITATED_REASON = "来电人情绪激动"


# ------------------------------------------------------------------ emotion
ANGER = re.compile(
    r"到底(管不管|有没有人)|管不管|气死|太差|糊弄|不作为|骂|吼|凭什么|凭啥|啥道理|什么道理|一点(用|动静)都没|"
    r"一点动静|好几回|好几次|[三四五六七八九十几]+(遍|回|趟)|乱收费|乱七八糟|不认账|就是不|说了不听|说了也不听|"
    r"不听|没人管|没人来|也不管|都不管|不管[^，。]{0,2}$|废物|告你们|坐着不走|吃干饭|他妈|你妈|滚|傻|贪|跑路|骗子|"
    r"太过分|不像话|搞么子名堂|恶劣|到现在都没|一分钱[^，。]{0,4}(不给|都没|补偿都没)|没个说法|没个通知|啥通知都没有|"
    r"还挂|不耐烦|态度|送烟|强行|还说|拒载|闹得|打游戏|天天[^，。]{0,8}(泼|砸|吵)|熏得|臭得不得了|根本(没|不)|不公平|偏向|不服|"
    r"讨说法|反映[^，。]{0,3}(好几|多)|都在骂|还要动手|要我赔|没用")
ANXIETY = re.compile(
    r"怕|担心|怎么办|着急|急死|赶紧|快来|快派|救命|不敢|提心吊胆|危险|没吃的|困难|出人命|不晓得|还没|一直没|"
    r"没消息|求求|帮帮|看不见|冻得|冷得|睡不着|拉肚子|受伤|伤|哭|不能动|出不来|过不去|要淹|干死|一个人|没法|"
    r"走不了|快|不见了|找不到|吓|受不了|恐吓|没地方|误|会不会|是不是|咋回事|怎么回事|污染|有伤|"
    r"渗水|漏气|断了|冒火星|火花|打火|进水|没发|没到账|没拿到|超载|刺鼻|欺负|摔|掉进|耷拉")


def emotion(text: str) -> tuple[str, list[str]]:
    """(平静|焦虑|愤怒, cue words)."""
    anger = ANGER.findall(text) and [m.group(0) for m in ANGER.finditer(text)]
    if anger:
        return "愤怒", anger[:3]
    worry = [m.group(0) for m in ANXIETY.finditer(text)]
    if worry or re.search(r"[!！]{2,}", text):
        return "焦虑", worry[:3]
    return "平静", []


def urgency(text: str, emotion_label: str, is_emergency: bool) -> tuple[str, list[str]]:
    """(特急|紧急|一般, reasons in plain Chinese)."""
    reasons = []
    if is_emergency:
        reasons.append("属于紧急警情或急救，需立即转对应紧急电话")
    for rule in DANGER_RULES:
        if rule.search(text):
            reasons.append(rule.reason_zh)
    if reasons:
        return "特急", reasons
    for rule in (UTILITY_CUT, MANY_AFFECTED, WAGE_ARREARS):
        if rule.search(text):
            reasons.append(rule.reason_zh)
    if emotion_label == "愤怒":
        reasons.append(AGITATED_REASON)
    if reasons:
        return "紧急", reasons
    return "一般", []
