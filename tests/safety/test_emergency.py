"""Emergencies and their near-misses (safety/emergency.py), the cases issue 11 names."""
import pytest

from safety.emergency import detect, normalise


@pytest.mark.parametrize("text,kind,number", [
    ("我家着火了", "fire", "119"),
    ("我爸喘不上气了，脸都紫了", "medical_breathing", "120"),
    ("俺妈把一瓶安眠药都吃了", "medical_poisoning", "120"),
    ("屋里好大一股煤气味", "gas_leak", "119"),
    ("我老汉从房顶上摔下来了，流了好多血", "medical_bleeding", "120"),
    ("我老伴突然嘴歪了，说话不清楚", "medical_stroke_heart", "120"),
    ("我老伴晕倒了叫不醒", "medical_unconscious", "120"),
    ("娃掉河里了", "drowning", "119"),
    ("有人拿刀砍人", "crime_now", "110"),
    ("村口出车祸了", "traffic_accident", "122"),
    ("我铺头门口两架车撞埋一齐啊，人冇事", "traffic_accident", "122"),   # 粤 撞埋一齐 = 撞在一起
    # told across two clauses (a comma bounds a clause, safety/emergency.py normalise)
    ("我爸胸口疼，疼到左边胳膊了", "medical_stroke_heart", "120"),
    ("电梯门打不开，里头关了三个人", "trapped", "119"),
    ("池塘里飘着一个人", "drowning", "119"),
    ("有人打电话说我女儿出事了要马上转钱", "fraud_now", "110"),
    ("我邻居说要把自己点了，手里拎着一桶汽油", "danger_now", "110"),
])
def test_emergency_kind_and_number(text, kind, number):
    found = detect(text)
    assert (found.kind, found.number) == (kind, number)


def test_traffic_accident_with_injured_also_names_120():
    assert detect("村口两辆车撞了，有人流血").numbers == ("122", "120")


def test_emergency_told_inside_another_request_is_still_an_emergency():
    assert detect("我本来想问补贴的事，我老伴突然倒地上叫不醒了").number == "120"


@pytest.mark.parametrize("text", [
    "他叫张德贵", "我叫王火旺", "火车站旁边那个派出所", "火神庙村的低保怎么办",
    "我身份证丢了，想先挂个失", "去年家里失过火，现在想办临时救助", "前年出了车祸腿残了，想办残疾证",
    "我要表扬派出所的民警，帮我找回了钱包", "路口的红绿灯坏了好几天了", "交通事故认定书去哪里拿",
    "我想办个残疾证", "身份证到期了要换", "煤气费在哪里交", "急死人了，低保到底批没批",
    "有人天天在河边烧垃圾，烟好大", "勿来事个，中风了，三年勿下床哉",   # a condition of years
    "走勿动额，一直困辣床上，中风两年了",   # 一直 after a condition of years: how long, not now
])
def test_near_misses_are_not_emergencies(text):
    assert detect(text) is None


def test_sound_alike_slip_of_a_key_word_is_heard_as_the_word():
    assert detect("我爸在厕所云倒了").number == "120"   # 云倒 -> 晕倒


@pytest.mark.parametrize("text,kind", [
    ("后山起佛了，火光一大片", "fire"),                          # f/h: 起佛 -> 起火
    ("我新慌得要死，兄口闷得不行", "medical_stroke_heart"),      # 新慌 -> 心慌, 兄口 -> 胸口
    ("楼顶有人要往下条", "danger_now"),                          # 往下条 -> 往下跳
    ("我妈正在电话里跟人念严正码，说是客服要给她退款", "fraud_now"),   # 严正码 -> 验证码
])
def test_accent_merged_slips_of_key_words_are_heard_as_the_words(text, kind):
    assert detect(text).kind == kind


@pytest.mark.parametrize("text", ["路上全是泥水，车都过不去", "那条河的河长是谁", "车和人都多，路口老堵",
                                  "帮我查一下孙救民的养老金"])
def test_everyday_words_that_sound_like_key_words_stay_as_said(text):
    assert detect(text) is None


def test_dialect_words_are_read_as_standard_mandarin():
    assert detect("阿嫲唔见咗，佢有痴呆").number == "110"


def test_someone_trapped_rings_119_and_names_110():
    found = detect("电梯卡在两层中间，里面有人出不来")
    assert (found.kind, found.numbers) == ("trapped", ("119", "110"))


def test_a_not_a_question_is_not_a_negation():
    assert detect("屋里一股味，是不是煤气漏了").number == "119"


def test_passive_with_jiao_is_not_a_name():
    assert detect("我爸叫车撞了，躺在地上").numbers == ("122", "120")


def test_a_snatched_thing_is_still_a_robbery():
    assert detect("刚才有人抢了我的手机往东边跑了").number == "110"


def test_pa_shi_means_probably_not_fear():
    assert detect("我爸从梯子上摔下来，腿怕是断了").number == "120"


def test_child_not_home_and_unreachable_is_danger_to_a_person():
    assert detect("我孩子放学一直没回来，电话也打不通").number == "110"


@pytest.mark.parametrize("text", [
    "我孩子的学生证不见了", "那个路口好几回差点撞车", "这条路塌方了没人修", "补贴的钱不知道放在哪了",
])
def test_lost_things_averted_events_and_damage_without_people_are_not_emergencies(text):
    assert detect(text) is None


def test_breathing_trouble_in_cantonese_with_blue_lips_is_a_120_emergency():
    found = detect("哎呀佢而家喘唔到气啊，口唇都紫咗，好辛苦")
    assert found is not None and found.number == "120"


@pytest.mark.parametrize("text,number", [
    ("我妈炒菜被热油烫了，手背起了一片泡", "120"),          # burns
    ("他吃了几个芒果，过敏了，嘴唇肿得好大", "120"),          # allergy
    ("我爸癫痫又犯了，在地上抽", "120"),                      # seizure
    ("我媳妇要生了，羊水都破了", "120"),                      # birth
    ("猪圈的墙塌了，我爹压在下面", "119"),                    # collapse: rescue
    ("工人的胳膊被卷进搅拌机里了", "119"),                    # machinery: rescue
    ("我爸正在银行柜台给骗子转钱，我拦不住", "110"),          # fraud while the money moves
    ("隔壁男的正在打他媳妇，打得直叫", "110"),                # violence now
    ("河边有个人飘着，一沉一浮的", "119"),                    # the person told first, then the water
    ("房子塌了，隔壁有人压到了", "119"),                      # the person told first, then crushed
    ("我爸刚才突然按着心口趴下了", "120"),                    # a hand on the heart
    ("我娃喝了豆奶以后嘴巴肿了", "120"),                      # swelling after a drink
    ("我爷爷躺着张着嘴大口喘气", "120"),                      # gasping
    ("仓库那边的货都在着，烟好大", "119"),                    # still burning
])
def test_emergencies_said_in_everyday_words(text, number):
    assert number in detect(text).numbers


@pytest.mark.parametrize("text", [
    "农村合作医疗能报心梗的住院费吗",            # whether a cover pays
    "电视上说邻县着火了，是真的吗",              # news
    "燃气灶火苗太小了，找谁来修",                # a repair
    "上个月接了个电话让我转了五千，被骗了，能追回来吗",   # fraud told after the money is gone
    "电梯坏了，里面没人困着，就是不能用",        # a negated emergency
    "救命啊，这个表格我怎么都填不对",            # a figure of speech
])
def test_questions_and_stories_about_emergencies_are_not_emergencies(text):
    assert detect(text) is None


def test_fraud_while_the_money_moves_has_its_own_advice():
    assert detect("有人冒充公安让我把钱转到安全账户，我正在转").kind == "fraud_now"


@pytest.mark.parametrize("text,kind,number", [
    ("对方让我把验证码念给他，电话还没挂", "fraud_now", "110"),           # a code asked for on the phone
    ("有人冒充公安让我马上转钱，说不准告诉家里人", "fraud_now", "110"),    # the fake officer's secrecy
    ("我妈说要喝农药，谁都劝不住", "danger_now", "110"),                  # a suicide threat: police first
    ("我们在山里迷路了，天黑了", "trapped", "119"),                        # rescue in the mountains
    ("电梯往下掉了一截，我们关在里面", "trapped", "119"),                  # people trapped in a lift
    ("电话那头的人叫我把银行卡号和密码告诉他，说卡被冻结了", "fraud_now", "110"),   # a password told
    ("有人说我孙子撞了人，要我马上打五万块钱过去", "fraud_now", "110"),          # any sum sent now
    ("我在取款机这儿，对方叫我按他说的一步步操作", "fraud_now", "110"),          # steered at the machine
    ("我爸非要去银行取五万，说是有人叫他交解冻费", "fraud_now", "110"),          # cash taken out for a fee
    ("有个男的在楼顶边上坐着，一直在哭", "danger_now", "110"),                    # sitting at the edge
    ("我女儿发朋友圈说永别了，现在关机", "danger_now", "110"),                    # a farewell post
    ("孙子放学没回家，老师说早就走了", "danger_now", "110"),                      # missing now
    ("我爸有精神病，在医院门口一下子跑没了", "danger_now", "110"),                # a vulnerable person gone
    ("地铁上有个男的正在掏一个姑娘的包", "crime_now", "110"),                     # theft in progress
    ("有人在剪小区的电缆往车上装", "crime_now", "110"),                           # cable theft in progress
])
def test_fraud_in_progress_suicide_threats_and_rescues_ring_their_own_number(text, kind, number):
    found = detect(text)
    assert (found.kind, found.number) == (kind, number)


def test_a_crash_told_by_a_voice_that_wants_money_is_fraud():
    found = detect("对方说我女儿出车祸了要马上转三万过去，我在取款机这里")
    assert (found.kind, found.number) == ("fraud_now", "110")


def test_normalised_text_keeps_the_full_width_comma_the_patterns_stop_at():
    assert normalise("撞倒了, 没人扶") == "撞倒了，没人扶"


@pytest.mark.parametrize("text", ["村口那块石碑被撞倒了，没人扶", "村口那块石碑被撞倒了,没人扶"])
def test_a_clause_bound_stops_at_the_comma(text):
    assert detect(text) is None   # "撞倒[^，。]{0,3}人" must not reach the next clause's "没人"


@pytest.mark.parametrize("text", [
    "要是我爸突然晕倒了，先打哪个电话", "如果有人冒充公安叫我转钱怎么办", "小区要搞火灾逃生演练",
    "溺水急救的培训在哪报名", "我爸被车撞了，现在住院，医药费谁出", "邻居的狗被人打了一棍子",
    "救火的水池子坏了没人修", "自来水管子漏水漏了好几天了", "村口那棵大树倒在地上了，没砸到人，谁来清理",
    "小区电梯又不动了，没人关在里面",                       # nobody in it
    "好几个学生吃坏了肚子上吐下泻，已经送到卫生院了",       # already in a doctor's hands
    "评伤残等级评了个八级，我腿都断了，不服",               # an old injury and its grade
    "有辆大车在倒渣土，倒在路边沟里",                       # a load tipped
    "有人在山上偷砍树，一车一车往外拉",                     # illegal logging: a report
    "我看到朋友圈说有个小孩走丢了，是不是我们镇的",         # hearsay
])
def test_suppositions_drills_hospital_stays_and_animals_are_not_emergencies(text):
    assert detect(text) is None


def test_a_bare_call_for_help_yields_to_the_repaired_key_word():
    assert detect("霉气漏了，快来人").kind == "gas_leak"   # 霉气 -> 煤气: 119, not 110


@pytest.mark.parametrize("text,kind,number", [
    ("我妈掉进红薯窖里了，爬不上来", "trapped", "119"),                      # a cellar is a pit
    ("我的手机刚被枪走了，那人往街上跑了", "crime_now", "110"),              # 枪 for 抢, a recogniser's slip
    ("隔壁天天打孩子，今天打得好狠，孩子都哭不出声了", "crime_now", "110"),  # a habit, but hard today
    ("我弟刚发消息说要去死，电话关机了", "danger_now", "110"),
    ("我爸讲活不下去了，拿了根绳子出门了", "danger_now", "110"),            # 讲 is 说
    ("孙子在门口耍，一哈儿就找不到人了", "danger_now", "110"),              # 一哈儿 is 一会儿
    ("我妈听着对方的电话在取款机上操作，说是退保险钱，还在按", "fraud_now", "110"),  # the pretext is not a claim
    ("一个公安跟我视频，叫我把钱转到安全的地方配合调查", "fraud_now", "110"),
])
def test_round_ten_kinds_of_emergency_ring_their_number(text, kind, number):
    found = detect(text)
    assert (found.kind, found.number) == (kind, number)


def test_a_hand_mangled_in_a_machine_is_medical_and_names_the_rescue_line():
    found = detect("他的手卷进机器里卡在里面，手指头都变形了")
    assert found.numbers == ("120", "119", "110")


@pytest.mark.parametrize("text,numbers", [
    ("我老婆的手被搅拌机卷到了，快来", ("120", "119", "110")),   # caught: the injury first
    ("他的手卷进搅拌机里了，拔不出来", ("119", "110")),          # still stuck: the rescue first
])
def test_a_hand_caught_in_a_machine_is_a_rescue_first_only_while_still_stuck(text, numbers):
    assert detect(text).numbers == numbers


@pytest.mark.parametrize("text", [
    "电线杆上的线断了掉在地上，一直冒火花",                    # sparks: the power company, not a fire
    "有人把泥土倒在我家田里了",                                # dumped soil, not a person down
    "河水涨上来了，淹到了田里",                                # the water reached a field, nobody in it
    "那个医生态度好差，我爸疼得打滚他都不管",                  # a complaint about how staff handled it
    "老板欠了我三个月工资，人跑了",                            # 欠 is not 抢
    "上个号头屋里着火，证件烧坏了",                            # Wu 上个号头 is last month
    "我急得像着火一样，补贴到底发没发",                          # a simile
    "救命啊，这个医保网上缴费我搞不好",                          # 救命 about paperwork online
    "听讲隔壁村有个娃在塘里淹死了，塘边要装栏杆",                # hearsay
    "我爸上个月心梗走的，死亡注销要带啥",                        # the death is registered, not happening
    "楼下那家养了好多狗，吓煞人了，归谁管",                      # 吓煞人 is a figure of speech (煞 sounds like 杀)
    "我叫李火生，是火，着火的火",                                # 是火 spells a name, it is not 失火
])
def test_sparks_dumping_floods_complaints_and_wages_are_not_emergencies(text):
    assert detect(text) is None


@pytest.mark.parametrize("text", [
    "俺叫赵火旺，火是着火那个火，旺是兴旺的旺",        # a name spelled with 那个
    "俺家在烧锅屯，就是那个烧锅的烧",                  # the spelled word elsewhere is the place
    "材料交了三回了，我心里像着了火一样",              # a simile around the words
    "我家的兔子喘不上气，嘴巴一张一张的",              # the next clause is still about the rabbit
])
def test_spelled_names_similes_and_an_animal_told_over_two_clauses_are_not_emergencies(text):
    assert detect(text) is None


def test_an_animal_that_hurt_a_person_is_still_an_emergency():
    assert detect("牛把我爷爷顶翻了，肋巴骨那里疼得不敢出气").number == "120"


def test_gas_still_smelt_after_the_main_valve_is_shut_is_a_leak():
    assert detect("屋里一股臭鸡蛋味，我关了总阀还是有").number == "119"


@pytest.mark.parametrize("text,number", [
    ("卡车后面起明火了，烟好大", "119"),                          # an open flame
    ("有个老人在河里顺水漂，还在挣手", "119"),                    # a person drifting
    ("墙倒了，人压住了", "119"),                                  # crushed, the person told first
    ("孙子吃果冻卡住了，憋得说不出话", "120"),                    # food stuck
    ("我爸坐着坐着就出溜到地上了", "120"),                        # slumped down
    ("娃流鼻血流了半个小时了还止不住", "120"),                    # a nosebleed that will not stop
    ("他手上划了个口子，血按不住", "120"),                        # blood that cannot be held back
    ("我奶奶说话结结巴巴的，以前从来没这样", "120"),              # speech gone wrong, onset told
    ("我爸胸口疼，疼到左边胳膊，出冷汗", "120"),                  # chest pain spreading to the arm
    ("吃了海鲜以后脸上起疙瘩，嗓子发痒，声音哑了", "120"),        # allergic reaction
    ("孩子被开水烫了，起了一大片水泡", "120"),                    # blisters
    ("我奶奶滑倒了，站不起来，说腰疼", "120"),                    # cannot stand after a fall
    ("我老婆怀孕七个月，肚子一阵阵发硬", "120"),                  # pregnancy sign
    ("有人在我家羊圈牵羊，我不敢出去", "110"),                    # livestock led away now
    ("公交上有个人掏我包，还在车上", "110"),                      # a pocket picked
    ("一个小孩在商场哭，说找不到妈妈了", "110"),                  # a lost child
    ("我爸在银行要把钱全取出来转给一个人，拦不住", "110"),        # money moved against the family's word
    ("前面那辆车怼到树上了，有人在喊", "122"),                    # 怼 is a crash
])
def test_round_eleven_kinds_of_emergency_ring_their_number(text, number):
    assert number in detect(text).numbers


def test_a_firework_gone_off_in_the_hand_is_a_burn_for_120():
    assert detect("鞭炮在手里炸了，手指头又黑又红").numbers == ("120",)


@pytest.mark.parametrize("text", [
    "禁止明火", "希望在山路上装上护栏", "烧红烧肉把肉都烧焦了", "我儿子说话结巴，能办残疾证吗",
    "电视上看到有人溺水了，学校管不管", "车站的广告牌被风刮倒了", "我以前中过风，现在想办残疾证",
])
def test_round_eleven_near_misses_are_not_emergencies(text):
    assert detect(text) is None


@pytest.mark.parametrize("text,number", [
    ("奶奶突然左边手脚都没得劲，站不稳", "120"),        # 没得 is read as 没有 before the patterns
    ("有个老人躺在路边，一动都唔动", "120"),            # lying on the ground, not moving
    ("老人家喘得好急，话都说不出", "120"),
    ("我爷爷脑退化，出门散步没返来", "110"),            # a vulnerable person not back
    ("在那个路口我把人撞了，人在地上", "122"),
])
def test_dialect_read_as_standard_and_everyday_signs_ring_their_number(text, number):
    assert number in detect(text).numbers
