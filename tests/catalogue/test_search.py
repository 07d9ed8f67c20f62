
import pytest

from catalogue.search import Hit, clarify, search, segments
from tests.catalogue.conftest import REQUIRED_IDS

# Colloquial / elderly / dialect / ASR wording -> acceptable matter ids (top-3).
COLLOQUIAL = [
    ("俺娘八十了那个补贴咋领", {"minzheng.elderly_allowance"}),
    ("身份卡丢了", {"gongan.idcard_reissue", "gongan.idcard_loss_report"}),
    ("农保", {"renshe.resident_pension_enrol", "renshe.resident_pension_payment"}),
    ("养老钱", {"renshe.resident_pension_claim", "renshe.pension_qualification"}),
    ("上户口", {"gongan.birth_registration"}),
    ("合作医疗", {"yibao.resident_insurance_payment"}),
    ("残疾本", {"canlian.disability_card"}),
    ("刷脸认证", {"renshe.pension_qualification"}),
    ("地宝", {"minzheng.dibao"}),
    ("高龄今天怎么领", {"minzheng.elderly_allowance"}),
    ("身份正掉了咋办", {"gongan.idcard_reissue"}),
    # everyday names of a matter that its official words do not carry
    ("单位要个没犯过罪的证明", {"gongan.no_criminal_record"}),
    ("村边采石场天天开山放炮", {"yingji.safety_report"}),
    ("自来水有股漂白粉味", {"zhujian.utility_complaint"}),
    ("想成立个公益组织", {"minzheng.social_organization"}),
    ("养殖保险咋赔", {"nongye.crop_insurance"}),
]

# One colloquial way to ask for each required matter (top-3).
REQUIRED_WORDING = {
    "gongan.idcard_loss_report": "身份证挂失怎么弄", "gongan.idcard_reissue": "俺的身份证找不着了咋补",
    "gongan.idcard_renewal": "身份证过期了咋办", "gongan.idcard_temporary": "能先办个临时身份证吗",
    "gongan.idcard_first": "孩子十六了第一次办身份证", "gongan.birth_registration": "娃刚出生咋上户口",
    "gongan.death_deregistration": "老人去世了户口怎么销", "gongan.hukou_migration": "户口迁回老家",
    "gongan.hukou_certificate": "开个户口证明", "gongan.residence_permit": "外地人办暂住证",
    "gongan.no_criminal_record": "开良民证", "renshe.resident_pension_enrol": "我想参加农保",
    "renshe.resident_pension_claim": "满六十了养老金咋领", "renshe.pension_qualification": "养老金认证咋弄",
    "renshe.sscard_reissue": "社保卡掉了", "renshe.esscard": "手机上的社保卡", "renshe.unemployment": "领失业金",
    "renshe.funeral_grant": "老人走了丧葬费怎么领", "yibao.resident_insurance_payment": "新农合在哪交",
    "yibao.offsite_filing": "去外地看病要备案吗", "yibao.chronic_disease": "慢性病卡怎么办",
    "yibao.transfer": "医保关系转到老家", "minzheng.dibao": "家里困难想吃低保",
    "minzheng.tekun": "五保户怎么申请", "minzheng.temporary_relief": "家里遭了难有临时救助吗",
    "minzheng.elderly_allowance": "八十岁老人补贴", "minzheng.disability_subsidies": "残疾人两项补贴",
    "minzheng.marriage": "领结婚证", "minzheng.senior_card": "老年证怎么办",
    "weijian.birth_certificate": "出生证明怎么开", "weijian.family_planning_reward": "独生子女奖励",
    "canlian.disability_card": "办残疾证", "tuiyi.preferential_card": "老兵优待证",
    "nongye.homestead": "批宅基地盖房子", "nongye.farmland_subsidy": "种粮补贴",
    "ziran.real_estate_registration": "办房产证", "zhujian.rural_housing_renovation": "危房改造",
    "shichang.individual_business": "开小卖部办营业执照", "sifa.legal_aid": "请不起律师",
    "sifa.mediation": "邻居吵架找人调解", "jiaoyu.compulsory_enrolment": "孩子上小学报名",
    "jiaotong.senior_bus_pass": "老年人坐公交的卡",
}


def test_every_required_matter_has_a_wording_case():
    assert set(REQUIRED_WORDING) == set(REQUIRED_IDS)


@pytest.mark.parametrize("query,expected", COLLOQUIAL)
def test_colloquial_queries_find_the_matter(real_catalogue, query, expected):
    missing = expected - set(m["id"] for m in real_catalogue.matters)
    assert not missing, f"catalogue lacks {missing}"
    ids = [h.matter_id for h in search(query, 3)]
    assert expected & set(ids), (query, ids)


@pytest.mark.parametrize("matter_id", sorted(REQUIRED_WORDING))
def test_required_matter_found_from_colloquial_wording(real_catalogue, matter_id):
    assert matter_id in real_catalogue
    ids = [h.matter_id for h in search(REQUIRED_WORDING[matter_id], 3)]
    assert matter_id in ids, (REQUIRED_WORDING[matter_id], ids)


def test_hits_are_ranked_scored_and_say_what_matched(fixture_catalogue):
    hits = search("补办身份证要带什么", 5, catalogue=fixture_catalogue)
    assert hits[0].matter_id == "gongan.idcard_reissue" and hits[0].matched == "补办身份证"
    assert all(0 <= h.score <= 1 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert search("临时身份证", 1, catalogue=fixture_catalogue)[0].matter_id == "gongan.idcard_temporary"


def test_homophone_match_through_pinyin(fixture_catalogue):
    hits = search("身份正掉了", 3, catalogue=fixture_catalogue)
    assert hits[0].matter_id == "gongan.idcard_reissue"


def test_fillers_split_but_keep_content():
    assert segments("俺娘八十了那个补贴咋领") == ["娘八十", "补贴", "领"]
    assert segments("请问，我想问一下低保怎么办理？") == ["低保"]
    assert segments("补办身份证要带什么") == ["补办身份证"]
    assert segments("80岁") == ["八十岁"]


@pytest.mark.parametrize("junk", ["", "   ", "？？？", "嗯嗯啊啊", None, 123])
def test_bad_input_gives_empty_result(junk, fixture_catalogue):
    assert search(junk, 5, catalogue=fixture_catalogue) == [] or all(h.score < 0.5 for h in
                                                                     search(junk, 5, catalogue=fixture_catalogue))


def test_unrelated_words_score_low(real_catalogue):
    hits = search("今天天气怎么样", 3)
    assert not hits or hits[0].score < 0.5


def test_clarify_when_top_two_are_close(fixture_catalogue):
    close = [Hit("gongan.idcard_reissue", "居民身份证补领", 0.71, "补办身份证"),
             Hit("gongan.idcard_temporary", "临时居民身份证办理", 0.69, "临时身份证")]
    assert clarify(close, fixture_catalogue) == "您是要补办身份证，还是办临时身份证？"
    far = [close[0], Hit("gongan.idcard_temporary", "临时居民身份证办理", 0.4, "临时身份证")]
    assert clarify(far, fixture_catalogue) is None
    weak = [Hit(h.matter_id, h.name, 0.2, h.matched) for h in close]
    assert clarify(weak, fixture_catalogue) is None
    assert clarify(close[:1], fixture_catalogue) is None


def test_clarify_from_a_real_ambiguous_query(fixture_catalogue):
    hits = search("身份证的事", 3, catalogue=fixture_catalogue)
    assert clarify(hits, fixture_catalogue) == "您是要补办身份证，还是办临时身份证？"
    assert clarify(search("补办身份证", 3, catalogue=fixture_catalogue), fixture_catalogue) is None
