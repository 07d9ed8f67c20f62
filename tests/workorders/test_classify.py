"""workorders.classify: rules for emergencies/refusals/urgency/emotion + the trained model."""
from __future__ import annotations

import pytest

from workorders import classify as C
from workorders.classify import classify


@pytest.mark.parametrize("text,number", [
    ("救命啊，我家厨房着火了，火窜到房顶上了", "119"),
    ("我爸突然倒在地上叫不醒，嘴唇发紫", "120"),
    ("有人拿着刀在村口砍人", "110"),
    ("国道上两辆车追尾了，有人受伤", "122"),
    ("一百多人在乡政府门口堵着路打着横幅", "110"),
])
def test_emergencies_are_transferred_not_work_orders(text, number):
    c = classify(text)
    assert c.emergency == number
    assert not c.is_work_order
    assert c.urgency == "特急"
    assert c.emergency_reason_zh and number in c.emergency_reason_zh
    from workorders.dispatch import route
    a = route(c)
    assert a.lead_unit_id is None and a.transfer_to == number


def test_gas_stove_that_will_not_light_is_not_a_fire():
    c = classify("家里燃气灶打不着火，燃气公司电话打不通")
    assert c.emergency is None and c.is_work_order


@pytest.mark.parametrize("text,code", [
    ("我跟邻居的土地纠纷已经在法院起诉了，你们帮我催一下", "in_legal_process"),
    ("这个事我已经申请劳动仲裁了，还没判", "in_legal_process"),
    ("我对法院的判决不服，法官偏向对方", "outside_remit"),
    ("我要举报村党支部书记违反党纪", "outside_remit"),
    ("哈哈，我就是打着玩的，没啥事", "harassment"),
    ("你们都是废物，蠢猪", "harassment"),
])
def test_refusals_have_code_and_plain_reason(text, code):
    c = classify(text)
    assert c.refusal is not None and c.refusal["code"] == code
    assert c.refusal["reason_zh"] and "不" in c.refusal["reason_zh"]
    assert not c.is_work_order


def test_rude_words_with_a_real_problem_are_not_refused():
    c = classify("他妈的停电三天了你们管不管，全村都没电")
    assert c.refusal is None
    assert c.emotion == "愤怒"


def test_veterans_are_not_military_refusals():
    assert classify("我是退伍老兵，优待证在哪里申请").refusal is None


@pytest.mark.parametrize("text", ["杨湾村停水两天了", "我们这片停电了", "家里暖气一点都不热"])
def test_utility_cut_raises_to_urgent(text):
    c = classify(text)
    assert c.urgency == "紧急"
    assert any("中断" in r for r in c.urgency_reasons)


@pytest.mark.parametrize("text", ["村口挡土墙裂了好宽的缝，怕是要垮", "电线掉到地上了还在打火花",
                                  "后山在往下掉石头，怕是要滑坡"])
def test_danger_to_life_is_top_urgency(text):
    c = classify(text)
    assert c.urgency == "特急" and c.urgency_reasons
    assert c.emergency is None   # hazards are urgent work orders for the utility / bureau


def test_gas_leak_without_fire_is_an_urgent_work_order_for_the_gas_company():
    # published rules (intake_rules.yaml): 燃气泄漏未起火 is 特急, repaired at once by the gas company;
    # in a stairwell it is a public hazard (综治类); no emergency number (the bot's safety layer still
    # tells a caller at home to leave and ring 119)
    c = classify("楼道里一股煤气味，燃气管子漏气了，还没着火")
    assert (c.emergency, c.urgency, c.category, c.department) == (None, "特急", "综治类", "ranqi")


def test_gas_leak_on_fire_is_still_119():
    c = classify("燃气管子漏气了，已经着火了，火苗往外窜")
    assert c.emergency == "119" and not c.is_work_order


def test_many_residents_and_agitation_raise_urgency():
    calm = classify("村口的路灯坏了")
    many = classify("村口的路灯坏了，全村几百户晚上都黑着走路")
    angry = classify("村口的路灯坏了，反映八回了到底有没有人管")
    assert calm.urgency == "一般"
    assert many.urgency == "紧急" and "影响群众较多" in many.urgency_reasons
    # published rules (intake_rules.yaml): 紧急 = basic needs cut or many residents affected;
    # the caller's anger is recorded as emotion and does not raise urgency by itself
    assert angry.urgency == "一般" and angry.emotion == "愤怒"


def test_emotion_levels():
    assert classify("请问身份证补办要带什么").emotion == "平静"
    assert classify("我爸八十多了一个人在家，停电了，我好担心").emotion == "焦虑"


def test_location_and_department_and_dict():
    c = classify("柳树镇王家村的自来水管子爆了")
    assert c.location["village"] == "王家村" and c.location["township"] == "柳树镇"
    assert c.location["county"] == "松溪县"
    assert c.department == "gongshui"
    d = c.to_dict()
    assert d["is_work_order"] is True and d["category"] in C.CATEGORIES and d["type"] in C.TYPES


def test_location_from_context_when_text_has_none():
    c = classify("我家门口的路灯坏了", {"location": {"township": "大坪乡"}})
    assert c.location["township"] == "大坪乡" and c.location["source"] == "context"


def test_matter_from_catalogue_when_clearly_meant():
    from workorders.dispatch import get_catalogue
    if get_catalogue() is None or "gongan.idcard_reissue" not in get_catalogue():
        pytest.skip("service catalogue not available")
    c = classify("身份证丢了咋补办，要带啥东西")
    assert c.matter_id == "gongan.idcard_reissue" and c.department == "gongan"
    assert classify("你们都是废物，蠢猪").matter_id is None


def test_bad_input():
    with pytest.raises(ValueError):
        classify("   ")
    with pytest.raises(TypeError):
        classify(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        classify("停电了", context="大坪乡")  # type: ignore[arg-type]


def test_held_out_accuracy_floors():
    """Computed on the test split the model never saw; floors set below the measured values."""
    from bench.bench_classify import evaluate
    res = evaluate("test")
    acc = res["accuracy"]
    # measured (docs/benchmarks/classify_dispatch.md): category .71, type .78, urgency .81,
    # emotion .72, refusal 1.0, emergency .98, matter .81
    assert res["n"] >= 200
    assert acc["category"] >= 0.65, acc
    assert acc["type"] >= 0.70, acc
    assert acc["urgency"] >= 0.75, acc
    assert acc["emotion"] >= 0.65, acc
    assert acc["refusal"] >= 0.95, acc
    assert acc["emergency"] >= 0.95, acc
    if res["matter_gold_known"] >= 30:   # the catalogue is optional and still growing
        assert acc["matter"] >= 0.65, acc


# ------------------------------------------------------------------ explanations (issue 14)

def test_every_decision_has_a_reason_and_a_confidence():
    c = classify("柳树镇杨湾村停水两天了，一村人都没水吃")
    for f in ("type", "category", "urgency", "department", "emotion"):
        assert isinstance(c.reasons.get(f), str) and c.reasons[f], (f, c.reasons)
    for f in ("type", "category", "urgency", "department"):
        assert 0.0 <= c.confidence[f] <= 1.0, c.confidence
    assert "中断" in c.reasons["urgency"]
    d = c.to_dict()
    assert d["reasons"] == c.reasons and isinstance(d["needs_review"], bool)
    assert bool(c.review_reasons) == c.needs_review


def test_reason_names_the_words_that_decided():
    c = classify("西街有家烟酒店卖假酒，俺买的茅台喝着不对味")
    assert c.type == "举报" and c.category in ("政务类", "警务类")
    assert "假酒" in c.reasons["type"] or "卖假" in c.reasons["type"]
    assert c.department == "shichang" and c.department_reason == c.reasons["department"]


@pytest.mark.parametrize("text,typ,cat", [
    ("表扬一下供电所的李师傅，半夜冒雨来修好了电", "表扬", "意见建议类"),
    ("建议在村口那个急弯装个反光镜", "建议", "意见建议类"),
    ("请问新生儿上户口要带什么材料", "咨询", "咨询类"),
    ("供电所停电也不提前通知，打电话过去态度还很差", "投诉", "投诉类"),
])
def test_type_follows_what_the_caller_wants_and_category_follows_type(text, typ, cat):
    c = classify(text)
    assert (c.type, c.category) == (typ, cat), c.reasons
    assert typ in c.reasons["category"]


@pytest.mark.parametrize("text", ["我们村没得水了，停了好几天", "家里莫得电，停了两天了", "屋里冇电三日了"])
def test_dialect_words_for_cut_supplies_count(text):
    c = classify(text)
    assert c.urgency == "紧急", c.reasons
    assert any("中断" in r for r in c.urgency_reasons)


def test_near_miss_emergency_is_a_work_order_with_the_veto_explained():
    c = classify("建议交警在五里铺那个路口装个红绿灯 今年车祸都出了好几起了")
    assert c.emergency is None and c.is_work_order and c.type == "建议"
    assert "建议" in c.reasons["emergency"]


def test_emergency_carries_the_service_department_and_reason():
    c = classify("有人拿着刀在村口砍人")
    assert c.emergency == "110" and c.department == "gongan"
    assert "110" in c.reasons["emergency"] and "110" in c.reasons["department"]


def test_proposal_about_a_supply_cut_is_not_urgent():
    c = classify("建议供电所停电前在村里大喇叭喊一喊，老人都不看手机")
    assert c.urgency == "一般" and "建议" in c.reasons["urgency"]


@pytest.mark.parametrize("text", [
    "俺家老房子被人撬了门，东西丢了好多，我在外地回不去",        # the crime is over, found afterwards
    "我家孩子在学校被同学打了，老师也不管",                      # a complaint about how it was handled
    "他扬言要杀了我全家，已经说了好几次了",                      # a threat told, not happening
    "楼道里堆满了电动车，晚上还在充电，着火了咋办",              # what if (a hazard), not a fire
])
def test_past_reported_or_hypothetical_events_are_work_orders_not_emergencies(text):
    c = classify(text)
    assert c.emergency is None and c.is_work_order, c.reasons
    assert c.reasons["emergency"]   # the near-miss is explained


def test_someone_at_the_edge_now_is_still_an_emergency():
    c = classify("有个男的爬到楼顶上了，说要跳下去，底下围了好多人")
    assert c.emergency == "110"


@pytest.mark.parametrize("text,level", [
    ("请问房子被水冲倒了一半，受灾救助能补多少", "一般"),         # 咨询: nothing is happening to anyone
    ("小区二十多户的暖气都不热，老人冻得受不了", "紧急"),         # 二十多户: many residents
    ("阿拉屋里燃气灶打勿着火，两天了", "紧急"),                   # Wu 勿 = 不: gas cut
])
def test_urgency_follows_the_published_levels(text, level):
    c = classify(text)
    assert c.urgency == level, c.reasons


def test_a_public_hazard_is_coordinated_by_the_centre_and_fixed_by_its_owning_unit():
    # intake_rules.yaml 类别的读法 (the hotline owner's decision): a hazard in public space is 综治类,
    # the unit that fixes it handles it; the same hazard only in the caller's own home is 政务类
    bridge = classify("村口那座桥的桥墩被冲垮了，桥面在往下沉，车还在过")
    assert (bridge.type, bridge.urgency, bridge.category, bridge.department) == \
        ("求助", "特急", "综治类", "jiaotong"), bridge.reasons
    wire = classify("电线掉在路上了，还在冒火星子")
    assert (wire.urgency, wire.category, wire.department) == ("特急", "综治类", "dianli"), wire.reasons
    home = classify("我家厨房燃气表那里嘶嘶响，一股臭味，还没着火")
    assert (home.urgency, home.category, home.department) == ("特急", "政务类", "ranqi"), home.reasons


def test_a_hazard_no_department_owns_is_for_the_mediation_centre():
    c = classify("村头那个废弃的砖窑烟囱歪了，随时要倒，问了几家单位都说不归他们管")
    assert (c.urgency, c.category, c.department) == ("特急", "综治类", "zongzhi"), c.reasons


def test_dispute_between_residents_goes_to_the_mediation_centre():
    c = classify("邻居把排水沟改到俺家门口，一下雨水全往俺院里灌，说他他还骂人")
    assert (c.department, c.category) == ("zongzhi", "综治类"), c.reasons


def test_a_crime_is_for_the_police_whatever_it_is_about():
    c = classify("有人冒充燃气公司的，挨家挨户说要换气表，收了钱就走了")
    assert (c.department, c.category) == ("gongan", "警务类"), c.reasons
    assert "冒充" in c.reasons["department"]


def test_dialect_question_words_make_a_question():
    c = classify("低保咋申请，要带啥材料")
    assert (c.type, c.category, c.urgency) == ("咨询", "咨询类", "一般"), c.reasons


def test_place_names_do_not_decide_the_explanation():
    c = classify("俺们石桥村修路的大车把村头的老土墙撞裂了，墙有三米多高，随时要倒")
    assert c.location["village"] == "石桥村"
    assert "石桥" not in "".join(c.reasons[f] for f in ("type", "department", "category"))


def test_published_rules_are_in_one_readable_file():
    from workorders import classify_rules as R
    rules = R.published()
    text = str(rules["policy"])
    assert "国办发〔2020〕53号" in text and "国办发〔2022〕12号" in text
    assert set(rules["policy"]["紧急程度"]) == {"特急", "紧急", "一般"}
    assert set(rules["policy"]["类型按来电人想要的结果判断"]) == set(C.TYPES)
    assert R.RULES_FILE.name in (C.__doc__ or "") + (C.classify.__doc__ or "")


def test_intake_corpus_cross_validation_floors():
    """Issue-14 corpora: requests_c–f (writers who saw only the published rules) each scored by a
    model trained on the other corpora (bench_classify --corpus-cv; bench/data/intake/README.md).
    Regression floors set below the measured values."""
    from bench.bench_classify import corpus_cv
    res = corpus_cv(["requests_c", "requests_d", "requests_e", "requests_f"])
    # measured 2026-11-30 (round 7, the hotline owner's labelling decisions): c category .964, type .968,
    # urgency .967, department .954, township .997, 特急 recall 1.000; d .898, .911, .964, .883, .993,
    # .971; e .897, .918, .951, .886, .990, .959; f .876, .888, .961, .850, .996, .971; 0 false emergencies
    floors = {"requests_c": {"category": 0.93, "type": 0.94, "urgency": 0.93, "department": 0.92},
              "requests_d": {"category": 0.87, "type": 0.88, "urgency": 0.94, "department": 0.85},
              "requests_e": {"category": 0.87, "type": 0.89, "urgency": 0.93, "department": 0.86},
              "requests_f": {"category": 0.83, "type": 0.84, "urgency": 0.94, "department": 0.82}}
    for src, floor in floors.items():
        r = res[src]
        acc = r["accuracy"]
        assert r["n"] >= 600 and r["n_train"] >= 2000, (src, r["n"], r["n_train"])
        for field, low in floor.items():
            assert acc[field] >= low, (src, field, acc)
        assert acc["township"] >= 0.97, (src, acc)
        assert r["te_recall"] >= (0.94 if src == "requests_e" else 0.95), (src, r["te_recall"])   # e: 70/73
        assert r["false_emergencies"] == [], (src, r["false_emergencies"])


def test_the_held_out_corpus_is_named_by_its_file_and_never_trains(tmp_path, monkeypatch):
    """The held-out corpus (HELDOUT_CORPUS, requests_g.tsv) is held out whatever its split column says (bench/data/intake/README.md)."""
    from workorders import classify as C
    head = "text\tcategory\ttype\turgency\tdepartment\ttownship\tvillage\temergency\tsplit\n"
    held = tmp_path / f"{C.HELDOUT_CORPUS}.tsv"
    held.write_text(head + "柳树镇停水两天了\t政务类\t求助\t紧急\tgongshui\t柳树镇\t\t\ttrain\n", encoding="utf-8")
    tuning = tmp_path / "requests_a.tsv"
    tuning.write_text(head + "路灯坏了\t政务类\t求助\t一般\tchengguan\t\t\t\ttrain\n", encoding="utf-8")
    rows = C.read_intake((tuning, held))
    assert [r["split"] for r in rows] == ["train", "heldout"]
    monkeypatch.setattr(C, "read_intake", lambda: rows)
    assert [r["text"] for r in C.training_rows() if r["source"] != "requests_labelled"] == ["路灯坏了"]


# ------------------------------------------------------------------ published rules, this round (issue 14)

def test_the_type_the_caller_names_decides():
    c = classify("我要投诉燃气公司，停气三天了也不派人来")
    assert (c.type, c.category) == ("投诉", "投诉类"), c.reasons
    assert "投诉" in c.reasons["type"]


def test_asking_an_office_to_act_is_a_request_for_help_not_a_complaint():
    c = classify("老有人半夜打电话骚扰我，我一个人住害怕，请警察帮帮我")
    assert (c.type, c.category, c.department) == ("求助", "警务类", "gongan"), c.reasons


def test_wages_owed_are_urgent():
    c = classify("我在砖厂干了半年，老板欠了我三个月工资一直不给")
    assert (c.type, c.urgency, c.department) == ("求助", "紧急", "renshe"), c.reasons


def test_a_cut_wire_that_only_cut_the_supply_is_an_outage_not_a_hazard():
    c = classify("大雪把村里的电线压断了，全村都停电了")
    assert c.urgency == "紧急" and c.category == "政务类", c.reasons


def test_near_misses_are_work_orders_not_emergency_calls():
    for text in ("我家的羊这两天趴着不动，请兽医站来看看",
                 "院子外面的水表被车压坏了，一直在漏水",
                 "这两天燃气压力不够，火苗小得很，饭都煮不熟",
                 "村里有人偷偷卖六合彩，好多老人在买",
                 "征地款没算清，好多村民商量着要去堵工地的门"):
        c = classify(text)
        assert c.emergency is None and c.is_work_order, (text, c.reasons.get("emergency"))


def test_in_progress_cases_the_detector_misses_still_go_to_the_number():
    assert classify("刚才在集上被人抢了包，骑摩托往东边跑了，快追").emergency == "110"
    assert classify("有个孩子掉进废弃的机井里了，能听到在下面哭").emergency == "119"


def test_the_near_miss_vetoes_keep_people_in_danger():
    # the vetoes for things, animals and structures must not hide a person in danger next to them
    assert classify("老人在地里干活突然倒了，怎么喊都没反应").emergency == "120"
    assert classify("桥塌了，一辆车掉河里了，人还在车里").emergency == "119"
    assert classify("墙倒了砸到人了，腿流了好多血").emergency == "120"
    assert classify("我家的牛把我爸顶伤了，肚子上一个大口子在流血").emergency == "120"
    assert classify("一辆车把路边的电线杆撞断了，司机卡在车里出不来").emergency is not None


# ------------------------------------------------------------------ round 4 (fourth writer's misses)

@pytest.mark.parametrize("text", [
    "燃气灶一直打不着火，好几户都这样，燃气公司电话没人接",     # 打 is lighting the stove, not hitting
    "救命哦，这个社保认证的表我填了三遍还是不会填",             # 救命 as an exclamation over a form
    "猴子跑到院子里抢玉米吃，把鸡也叼走了",                     # an animal, not a robbery
    "我爸前天走丢了，派出所的同志找了一夜找到了",               # over: found
    "老公喝了酒在家摔碗，今天没动手，想请人来劝劝",             # no harm yet, mediation wanted
    "两家为了地界吵了好久，快打起来了",                         # brewing, not happening
])
def test_near_misses_are_work_orders_not_emergencies(text):
    c = classify(text)
    assert c.emergency is None and c.is_work_order, c.reasons


@pytest.mark.parametrize("text, number", [
    ("他们几个在路口拦车收钱，不给就打，现在还在", "110"),
    ("我爸正要去银行转账，对方是骗子，快拦住他", "110"),
    ("有个人爬山摔下去了，挂在半山崖上，上不来也下不去", "119"),
])
def test_emergencies_happening_now_are_transferred(text, number):
    assert classify(text).emergency == number


def test_praise_in_other_words_is_praise():
    c = classify("供电所的师傅服务真好，半夜冒雨来把线修好了")
    assert (c.type, c.category) == ("表扬", "意见建议类"), c.reasons


def test_a_department_the_model_never_saw_comes_from_the_named_unit():
    from workorders import classify as mod
    rows = [r for r in C.training_rows() if r.get("department") != "dangan"]
    saved = mod._model
    try:
        mod.set_model(C.TextModel(rows))
        c = classify("想去档案馆查一下我爸当年的招工记录，个人能查吗")
    finally:
        mod.set_model(saved)
    assert c.department == "dangan", c.reasons


# ------------------------------------------------------------------ units' responsibilities, round 6 (issue 14)

@pytest.mark.parametrize("text,department", [
    ("杨湾村路口那根电信的线杆歪了，电话线垂到路中间", "tongxin"),            # telecom lines: the operator
    ("我们组的人饮工程水池裂了，十几户没水吃", "shuili"),                     # rural drinking-water works: 水利
    ("救护车从乡里拉到县里收了五百块，这个价对不对", "weijian"),              # 120 ambulances: 卫健
    ("想办个护照出国看孩子，县里能办不", "gongan"),                           # 出入境: 公安
    ("村里好几户的苞谷叶子都黄了，怕是生了虫", "nongye"),                     # crop disease, several households
    ("公鸡金贷款要什么条件", "gongjijin"),                                     # ASR slip of 公积金
    ("惠农补贴一卡通里的钱少了一笔", "caizheng"),                             # 惠民惠农“一卡通”: 财政
    ("邻村有人私藏雷管，就放在他家猪圈里", "gongan"),                         # explosives kept privately
    ("前年山洪冲了我家房子，灾后救助还能申请不", "yingji"),                   # relief for disaster victims
    ("想办个港澳通行证去旅游，要多久", "gongan"),                             # travel documents
    ("桥头那根路灯杆子漏电，刚才一只鸡碰到就死了", "chengguan"),             # street lamps: urban management
    # the hotline owner's decisions (intake_rules.yaml 承办部门的读法)
    ("我要投诉我们村主任，低保评给了他自己亲戚", "zhengfu"),                 # complaint about a village cadre
    ("乡卫生院的护士打针扎了好几次，态度也凶", "weijian"),                    # 卫生院: health commission
    ("我们组山上引下来的水管冻裂了，好几户吃不上水", "shuili"),               # rural drinking water: 水利
    ("杨湾村的供睡站坏了，全村两天没水", "shuili"),                           # ASR slip of 供水站; a water station
    ("我要表扬我们村的村主任，天天帮大家跑手续", "cunwei"),                   # praise of a village cadre
])
def test_the_unit_that_is_responsible_handles_it(text, department):
    c = classify(text)
    assert c.is_work_order, c.reasons
    assert c.department == department, (c.department, c.reasons["department"])


@pytest.mark.parametrize("text", [
    "医保报销三个月没到账，医保中心电话一直打不通",      # 打不通 is no beating
    "我妈一个人在家，年纪大了饭都做不动了，想请民政帮帮忙",  # too weak, not unconscious
    "化工厂仓库冒白烟，味道很大，还没起火",                # not on fire yet: a hazard work order
    "全组手机信号断了三天，老人联系不上在外的子女",        # a network cut
    "社保窗口那个小伙子态度太差了，问一句就翻白眼",        # 翻白眼: a look, nobody unconscious
    "村口那棵老槐树被雷劈开了，一半悬着要掉下来",          # the tree was struck, not a person
    "家里煤气味很大，阀门已经关了，没有起火，请燃气公司来看看",  # gas smell, valve closed, no fire
])
def test_near_misses_of_this_round_are_work_orders(text):
    assert classify(text).emergency is None


@pytest.mark.parametrize("text", ["爷爷是老党员，有没有生活补助", "户口本丢了上哪儿补", "这个短信是不是诈骗"])
def test_questions_in_other_words_are_questions(text):
    assert classify(text).type == "咨询"


# ------------------------------------------------------------------ units named as places, praise, round 9 (issue 14)

def test_a_unit_named_as_a_place_is_no_department_cue():
    from workorders import classify_rules as R
    t = R.normalise("医院门口那个卖水果的缺斤短两")
    assert "yiyuan" not in R.department_cues(t) and "yiyuan" not in R.agency_cues(t)
    assert R.mask_landmarks("小学门口那家小卖部") == "某处门口那家小卖部"
    assert "yiyuan" in R.agency_cues(R.normalise("县医院的护士态度好"))


@pytest.mark.parametrize("text,department", [
    ("表扬一下人防办的同志，来我们小区讲防空知识讲得很清楚", "renfang"),     # praise: the unit praised
    ("我要表扬我们村干部，发大水那晚挨家挨户喊我们撤离", "cunwei"),           # not the evacuation's 应急
    ("查违章要去哪里，手机上能查不", "gongan"),                               # traffic violations, not 违章建筑
    ("五路末班车几点从车站发", "gongjiao"),                                    # a bus line
    ("人才引进的安家补贴怎么申请", "renshe"),
    ("我们的豆腐作坊想办个SC证，要哪些材料", "shichang"),
    ("我投诉乡上的那个干部，救灾的米发给了他自己家", "zhengfu"),             # a township cadre
    ("娃要转学过来，想先开个户籍证明，在哪开", "gongan"),                     # the document, not the school
    ("邻村有户人家私宰生猪，不检疫就拉去卖", "nongye"),                       # animal quarantine
    ("后山有人私自开山，天天挖石头往外拉", "ziranziyuan"),                     # illegal quarrying
    ("我们组的垃圾桶太少了，建议再放几个", "cunwei"),                           # a village's own facility
    ("有条短信说我的社保卡被冻结了，要点链接验证，是真的吗", "gongan"),       # a phishing text, asked about
])
def test_the_unit_named_or_the_matter_decides_this_round(text, department):
    c = classify(text)
    assert c.department == department, (c.department, c.reasons["department"])


# ------------------------------------------------------------------ the hotline owner's round-10 decisions (issue 14)

@pytest.mark.parametrize("text,department", [
    ("东街路口的井盖没了，一个黑窟窿，晚上看不见", "zhujian"),               # the drainage network's owner
    ("去龙泉乡的班车一天几趟，最后一趟几点", "jiaotong"),                     # rural coaches: 交通运输
    ("我想在自家宅基地上翻建房子，要办什么手续", "nongye"),                   # homestead approval
    ("表扬一下我们村的第一书记，帮我们把茶叶卖出去了", "xiangcun"),           # resident first secretaries
    ("残疾人两项补贴这半年都没到账，家里揭不开锅了", "minzheng"),             # 国发〔2015〕52号: 民政
    ("村口那个十字路口车多，能不能装个红绿灯", "gongan"),                     # traffic lights: 公安交警
    ("建议村务公开栏每个月都更新一下", "cunwei"),                             # 村务 proposals: the village
])
def test_the_writers_open_questions_follow_the_hotline_owners_decisions(text, department):
    c = classify(text)
    assert c.department == department, (c.department, c.reasons["department"])


@pytest.mark.parametrize("dept,text,typ,to", [
    ("chengguan", "人行道上的下水道盖子碎了，踩上去就往下陷", "求助", "zhujian"),
    ("gongjiao", "客车超载，过道上都站满了", "投诉", "jiaotong"),
    ("ziranziyuan", "想批个地基盖房子，要走什么手续", "咨询", "nongye"),
    ("zhengfu", "那个驻村干部一个月来不了一回", "投诉", "xiangcun"),
    ("canlian", "重度残疾人护理补贴怎么申请", "咨询", "minzheng"),
    ("jiaotong", "路口的红绿灯坏了", "求助", "gongan"),
    ("zongzhi", "建议村里的大事小事都贴出来", "建议", "cunwei"),
    ("weijian", "卫生院的医生把医保卡拿去刷了好多药，卖给药贩子", "举报", "yibao"),   # the insurance fund
    ("dianli", "农村电费比城里还贵，发改那个管物价的管不管", "投诉", "fagai"),        # the price office named
    ("minzheng", "想打听一下宅基地批地基的事，我儿子要结婚了想起个新房", "咨询", "nongye"),  # the matter, not why
    ("yingji", "街上的消防栓被车撞歪了，在往外渗水", "求助", "gongshui"),              # hydrants: the water supplier
])
def test_department_refine_states_the_round_10_decisions(dept, text, typ, to):
    from workorders import classify_rules as R
    assert R.refine_department(dept, R.normalise(text), typ)[0] == to


@pytest.mark.parametrize("dept,text,typ", [
    ("chengguan", "柳树街上那户人家把门口的排水沟填了，搭了个违章棚子", "举报"),   # a violation: enforcement
    ("gongjiao", "五路末班车几点从车站发", "咨询"),                                   # an urban bus line
    ("ziranziyuan", "有人在基本农田上盖房子，地基都打好了", "举报"),                 # farmland: 自然资源
    ("canlian", "想给我儿子办个残疾证，要去哪里评残", "咨询"),                       # the card itself: 残联
    ("yiyuan", "我的医保卡在医院刷不了，等着交钱", "求助"),                          # a card that fails
    ("yingji", "建议在我们社区多装几个消防栓", "建议"),                              # fire planning stays
])
def test_the_round_10_decisions_leave_the_other_units_alone(dept, text, typ):
    from workorders import classify_rules as R
    assert R.refine_department(dept, R.normalise(text), typ) is None


@pytest.mark.parametrize("text", [
    "小区广告牌被风吹松了，一边已经掉下来挂着，底下是公交站",
    "山塘坝子底下一直在冒浑水，下面是好几户人家",
    "我自家热水器的燃气软管裂了，一股味，我已经开窗了",
    "工地的脚手架被风吹得一直晃，下面是人行道",
    "石场今天又在放炮，石头都飞到村道上来了",
    "村里的老水塔塔身有裂纹，就在小孩子玩的场子旁边，怕它垮下来",
    "河湾村那个下河洗衣服的石台阶垮了半边，水很急，老太太们天天去",
    "有人在民房里囤了好多烟花爆竹，一屋子都是，楼上还住着人",
    "我家二楼阳台裂了好宽一道缝，往下沉，你们来看看有没有危险",     # asking whether it is dangerous
])
def test_danger_happening_now_is_urgent_by_the_published_rules(text):
    from workorders import classify_rules as R
    assert R.urgency(text, "平静", False)[0] == "特急"


@pytest.mark.parametrize("text", [
    "村道上一个大坑，下雨就积水，骑车的摔了好几个",           # a pothole: repair, not a danger now
    "高岭村到镇上那截公路垮了一块，车子勉强过得去，麻烦来修一下",
    "那个采石场放炮不打招呼，石头飞到我家屋顶上了，去年也是",
    "村口的桥栏杆掉了一截，现在没啥危险，就是想请人来补上",         # the caller says: no danger now
])
def test_what_is_not_a_danger_now_is_not_made_urgent_by_the_new_words(text):
    from workorders import classify_rules as R
    assert R.urgency(text, "平静", False)[0] != "特急"


def test_asking_an_office_to_look_into_a_misspent_fund_reports_it():
    c = classify("那个扶贫项目的钱，镇上修的冷库从来没用过，我怀疑钱被贪了，请审计局去查查")
    assert c.type == "举报", c.reasons["type"]


# round 11 (requests_j read as tuning data): a place, a person or a thing mentioned is not the subject
@pytest.mark.parametrize("dept,text,typ,to", [
    ("gongjiao", "我的社保卡昨天落在二路公交车上了，要先挂失吗", "咨询", "renshe"),     # lost on a bus: the card decides
    ("gongan", "景区门口写着老人免票，检票的看了身份证还是要我买票", "投诉", "wenlv"),
    ("gongan", "上个月跟人打了一架，派出所处理过了，他赔的钱一直谈不拢", "求助", "zongzhi"),
    ("zongzhi", "跟邻居为了院墙吵了好多年，想请镇上司法所来调解一下", "求助", "sifa"),
    ("jiaotong", "我叔叔在汽车站那边流浪好几天了，能不能让救助站接一下", "求助", "minzheng"),
    ("shuiwu", "二手房的契税已经交了，不动产登记要几个工作日", "咨询", "ziranziyuan"),
    # round 12: food safety at school goes to its regulator, maternity pay and a pharmacy's 医保 card to 医保
    ("renshe", "老婆生了孩子，单位交了社保，生育津贴找哪个领", "咨询", "yibao"),
    ("shichang", "镇上那家药店刷医保卡买药比别处贵", "投诉", "yibao"),
    ("jiaoyu", "学校旁边的小卖部把烟卖给初中生", "举报", "shichang"),
    ("jiaoyu", "学生营养餐的面包好多都发霉了", "举报", "shichang"),
])
def test_the_subject_decides_the_unit_not_the_place_or_person_mentioned(dept, text, typ, to):
    from workorders import classify_rules as R
    assert R.refine_department(dept, R.normalise(text), typ)[0] == to


def test_an_asr_slip_of_the_unit_word_is_repaired():
    from workorders import classify_rules as R
    assert "不动产" in R.normalise("不洞产登记窗口在哪里")
    assert "救助站" in R.normalise("能不能叫就助站来接一下")


def test_a_yard_or_a_square_dance_is_no_dam():
    from workorders import classify_rules as R
    assert "shuili" not in R.department_cues(R.normalise("村里的小广场没有灯，晚上跳坝坝舞看不见"))
    assert "shuili" in R.department_cues(R.normalise("山塘的坝子在往外渗水"))


def test_a_stranded_caller_asks_for_relief_not_for_the_police():
    from workorders import classify_rules as R
    t = R.normalise("我在车站包被人偷了，身上没钱回不了家，哪里能帮一下")
    assert R.POLICE_CRIME.search(t) and R.POLICE_CRIME_UNLESS.search(t)


def test_investment_returns_and_prostitution_are_for_the_police():
    from workorders import classify_rules as R
    assert R.POLICE_CRIME.search(R.normalise("有人拉老人搞投资返利，存一万每个月返八百"))
    assert R.POLICE_CRIME.search(R.normalise("楼下有个黄色的按摩店，晚上进进出出"))


@pytest.mark.parametrize("text", [
    "我家，燃气灶关了还是一股味，我已经出来了在楼下等着",       # a comma after 我家; waiting downstairs
    "我们这个房子是老土坯房，堂屋的墙裂了一条大缝，屋顶往下掉泥巴",
])
def test_a_hazard_in_the_callers_own_home_is_own_home(text):
    from workorders import classify_rules as R
    assert R.own_home_hazard(R.normalise(text))


@pytest.mark.parametrize("text", ["加油站加的油有问题，车子打不着火了", "燃气公司的人说不换他们的管子就要停气"])
def test_a_car_that_will_not_start_or_a_threatened_cut_is_no_cut(text):
    from workorders import classify_rules as R
    assert R.urgency(R.normalise(text), "平静", False)[0] == "一般"


def test_asking_a_unit_to_come_is_no_proposal():
    from workorders import classify_rules as R
    cues = [t for t, _, _ in R.type_cues(R.normalise("村里手机没信号，能不能叫电信来装个基站"))]
    assert "建议" not in cues
    assert "建议" in [t for t, _, _ in R.type_cues(R.normalise("医保每年都涨，能不能不要每年涨"))]


def test_asking_us_to_ask_for_them_is_a_request_for_help():
    c = classify("我们组的退耕还林补助三年没到账了，听说被乡里压着，麻烦帮我们问问")
    assert c.type == "求助", c.reasons["type"]


def test_a_report_that_was_not_acted_on_is_a_complaint_and_too_few_is_a_proposal():
    from workorders import classify_rules as R
    said = R.declared_type(R.normalise("上个月举报的那家黑作坊，到现在都还在开，你们查了没有"))
    assert said and said[0] == "投诉"
    assert R.type_cues(R.normalise("村口的路灯太少了，晚上黑黢黢的"))[0][0] == "建议"


def test_asking_on_behalf_is_not_read_as_the_caller_asking_for_themselves():
    from workorders import classify_rules as R
    t = R.normalise("补偿款几年没发了，帮我们问问")
    assert R.ASK_ON_BEHALF.search(t) and not R.ASK_SELF.search(t)
    assert R.ASK_SELF.search(R.normalise("我想问一下，你们帮我问一下归哪个管"))


def test_a_wire_hanging_in_a_tree_is_a_hazard_not_someone_stranded():
    c = classify("大风把电线杆吹断了，线一半挂在树上，线头在地上冒火花")
    assert c.emergency is None and c.is_work_order and c.urgency == "特急", c.reasons


def test_a_beating_that_is_a_habit_but_hard_today_is_an_emergency():
    assert classify("楼下天天打老婆，今天打得好狠，一直在喊").emergency == "110"


# round 12 (requests_k read as tuning data): the matter decides the unit, the reason or the greeting does not
@pytest.mark.parametrize("dept,text,typ,to", [
    ("minzheng", "儿子结婚了，他的户口要从我家迁到媳妇那边去，要带什么", "咨询", "gongan"),
    ("gongan", "孙子明年上一年级，户口还在老家，能不能在镇上的小学读", "咨询", "jiaoyu"),
    ("chengguan", "祠堂是县里的文物，有人在旁边私搭乱建把墙拆了", "举报", "wenlv"),
    ("yingji", "后山有人非法开采石头，天天放炮", "举报", "ziranziyuan"),
    ("zhengfu", "喂，是热线吧，镇上收了钱不给开收据", "投诉", None),
])
def test_the_matter_decides_the_unit_not_the_reason_or_the_greeting(dept, text, typ, to):
    from workorders import classify_rules as R
    got = R.refine_department(dept, R.normalise(text), typ)
    assert (got[0] if got else None) == to


@pytest.mark.parametrize("dept,text,typ", [
    ("gongan", "孩子上学要用户籍证明，在哪里开", "咨询"),                    # the document, not the school
    ("gongshui", "小区里的消防通道堵了，消防栓也坏了，灭火器都过期了", "求助"),  # the compound's fire safety
    ("renshe", "我的社保卡被冻结了，养老金取不出来", "求助"),                   # a frozen card, no message
])
def test_the_round_12_rules_leave_the_other_units_alone(dept, text, typ):
    from workorders import classify_rules as R
    assert R.refine_department(dept, R.normalise(text), typ) is None


def test_a_message_saying_the_card_is_frozen_is_still_fraud():
    from workorders import classify_rules as R
    assert R.refine_department("yibao", R.normalise("收到短信说我的医保卡被冻结了，要我打电话解冻"), "咨询")[0] == "gongan"


def test_the_caller_addressing_the_hotline_names_no_unit():
    from workorders import classify_rules as R
    t = R.normalise("喂，12345吗，我们村的路灯坏了一个月了")
    assert "rexian" not in R.agency_cues(t) and "rexian" not in R.department_cues(t)
    assert "rexian" in R.agency_cues(R.normalise("你们12345的回访电话一天打三次"))


@pytest.mark.parametrize("text,department", [
    ("生育保险交了一年，生育津贴去哪里领", "yibao"),
    ("农村的房地一体确权登记什么时候搞", "ziranziyuan"),
    ("集上卖菜的用鬼秤，一斤少好几两", "shichang"),
    ("娃是先天耳聋，康复训练有补助没得", "canlian"),
    ("村里医务室的医生三天两头不在", "weijian"),
    ("我们镇上那个新来的书记人很实在", "zhengfu"),
    ("老街那一片房子要征收了，补偿怎么算", "zhujian"),
])
def test_the_units_vocabulary_of_this_round(text, department):
    from workorders import classify_rules as R
    t = R.normalise(text)
    assert department in R.department_cues(t) or department in R.agency_cues(t)


def test_sewage_pipes_are_not_tap_water():
    from workorders import classify_rules as R
    assert "gongshui" not in R.department_cues(R.normalise("街上的污水管堵了，臭水冒出来"))
    assert "gongshui" in R.department_cues(R.normalise("楼下的水管爆了"))


def test_slips_of_the_words_of_this_round_are_repaired():
    from workorders import classify_rules as R
    assert "户口" in R.normalise("我娃的互口要迁回来")
    assert "新农合" in R.normalise("心农合今年交多少")
    assert "医保卡" in R.normalise("一包卡丢了咋补")


def test_poisoning_someones_crop_is_for_the_police():
    from workorders import classify_rules as R
    assert R.POLICE_CRIME.search(R.normalise("我家鱼塘的鱼被人下了药，死了一塘"))


def test_a_complaint_that_the_school_canteen_is_poor_stays_with_the_school():
    from workorders import classify_rules as R
    assert R.refine_department("jiaoyu", R.normalise("学校食堂饭菜又少又贵，孩子吃不饱"), "投诉") is None
    assert R.refine_department("weijian", R.normalise("二胎的生育登记在哪里办"), "咨询") is None
