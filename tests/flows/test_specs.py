"""Every flow spec refers to real, registrable catalogue matters and renders fully."""
import re

import pytest

from bot.actions import flow_specs as specs

REQUIRED = {"gongan.idcard_reissue", "gongan.idcard_renewal", "gongan.idcard_first", "gongan.idcard_temporary",
            "renshe.pension_qualification", "minzheng.elderly_allowance", "renshe.resident_pension_claim",
            "yibao.offsite_filing", "gongan.birth_registration", "minzheng.dibao", "canlian.disability_card",
            "renshe.sscard_reissue", "gongan.death_deregistration", "yibao.resident_insurance_payment"}


def test_the_required_matters_all_have_a_flow():
    assert REQUIRED <= {s["matter"] for s in specs.flows().values()}


@pytest.mark.parametrize("flow", sorted(specs.flows()))
def test_flow_matter_exists_and_is_registrable(flow):
    spec = specs.spec(flow)
    m = specs.catalogue().get(spec["matter"])
    assert m is not None, f"{flow}: {spec['matter']} missing from the catalogue"
    # Self-service matters (registrable: false) are registered as a request for help, declared so.
    assert m["registrable"] or spec.get("register_as") == "help_request", \
        f"{flow}: {spec['matter']} is not registrable"
    for alias, mid in (spec.get("uses") or {}).items():
        assert specs.catalogue().get(mid) is not None, f"{flow}: uses {alias}={mid} missing"


@pytest.mark.parametrize("flow", sorted(specs.flows()))
def test_every_template_renders_without_placeholders(flow):
    spec = specs.spec(flow)
    if specs.matter(flow) is None:
        pytest.skip("matter missing (see the test above)")
    assert len(spec.get("questions", [])) <= len(specs.QUESTION_SLOTS)
    templates = []
    for q in spec.get("questions", []):
        templates += [q.get("before"), (q.get("on_yes") or {}).get("say"), (q.get("on_no") or {}).get("say")]
        templates += [o.get("say") for o in q.get("options", [])]
    for t in filter(None, templates):
        out = specs.render(flow, t)
        assert "{" not in out and out.strip("。，") and not re.search(r"[，。]{2}", out), (flow, out)


def test_no_fee_digits_written_in_the_specs():
    """Facts come from the catalogue: no yuan amounts or day counts in the spec file."""
    text = specs.SPEC_PATH.read_text(encoding="utf-8")
    assert not re.search(r"\d+\s*(元|块|天|日|个月)", text)


@pytest.mark.parametrize("said,flow", [("我身份证丢了", "idcard_lost"), ("俺娘想领高龄补贴", "elderly_allowance"),
                                       ("社保卡坏了", "sscard_reissue"), ("孩子上户口", "birth_registration"),
                                       ("我爸走了要销户", "death_deregistration"), ("身份证到期了", "idcard_renewal"),
                                       ("又到认证的时候了 每年都得跑一趟乡里", "pension_qualification"),
                                       ("我老太婆个退休工资要认证", "pension_qualification"),
                                       ("身份证到期换了 新的没下来 他要出车咋弄", "idcard_temporary"),
                                       ("我们屋头这个情况能不能吃低包哦", "dibao")])
def test_pick_flow(said, flow):
    assert specs.pick_flow(said) == flow


@pytest.mark.parametrize("said,flow", [("帮我预约补办社保卡", "sscard_reissue"), ("帮我登记领养老金", "resident_pension_claim")])
def test_pick_flow_registration_phrasings(said, flow):
    assert specs.pick_flow(said) == flow


@pytest.mark.parametrize("said,flow", [
    # a death is someone who died, not years ago; 走了 / 过身 inside other words are no death
    ("钱包让人偷走了，身份证也在里头", "idcard_lost"),
    ("孙子十七了，还没有办过身份证", "idcard_first"),
    ("老伴去年走了，一个人过日子，想问问低保", "dibao"),
    ("娃他爹走了三年了，日子过不走了", None),
    ("我阿爸昨晚过身咗", "death_deregistration"),
    # a card being reissued or renewed, not there yet, needed now: the temporary card
    ("身份证补了还没拿到，下礼拜要住院", "idcard_temporary"),
    ("身份证在换，仲未攞到，冇证唔得", "idcard_temporary"),
    # verified or the pension stops: the yearly verification
    ("听说不去刷脸就停发了", "pension_qualification"),
    # insured here, treated in another city: the off-site filing
    ("我妈要去省城做手术，医保能报吗", "offsite_filing"),
])
def test_flow_trigger_by_mechanism(said, flow):
    assert specs.flow_trigger(said) == flow


def test_the_flow_of_the_matter_talked_about_wins_over_the_flows_it_prefers_over():
    # "临时身份证…" then words that no trigger names: still the temporary card
    assert specs.pick_flow("没得身份证银行不给取钱", None, context="gongan.idcard_temporary") == "idcard_temporary"
    # words that name the other flow win
    assert specs.pick_flow("我身份证丢了", None, context="gongan.idcard_temporary") == "idcard_lost"
    assert specs.pick_flow("没得身份证银行不给取钱", "gongan.idcard_reissue") == "idcard_lost"
