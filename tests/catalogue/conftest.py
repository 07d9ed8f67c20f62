from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

REQUIRED_IDS = """
gongan.idcard_loss_report gongan.idcard_reissue gongan.idcard_renewal gongan.idcard_temporary
gongan.idcard_first gongan.birth_registration gongan.death_deregistration gongan.hukou_migration
gongan.hukou_certificate gongan.residence_permit gongan.no_criminal_record renshe.resident_pension_enrol
renshe.resident_pension_claim renshe.pension_qualification renshe.sscard_reissue renshe.esscard
renshe.unemployment renshe.funeral_grant yibao.resident_insurance_payment yibao.offsite_filing
yibao.chronic_disease yibao.transfer minzheng.dibao minzheng.tekun minzheng.temporary_relief
minzheng.elderly_allowance minzheng.disability_subsidies minzheng.marriage minzheng.senior_card
weijian.birth_certificate weijian.family_planning_reward canlian.disability_card tuiyi.preferential_card
nongye.homestead nongye.farmland_subsidy ziran.real_estate_registration zhujian.rural_housing_renovation
shichang.individual_business sifa.legal_aid sifa.mediation jiaoyu.compulsory_enrolment
jiaotong.senior_bus_pass
""".split()


@pytest.fixture
def fixture_catalogue():
    from catalogue.loader import load_catalogue

    return load_catalogue(FIXTURES / "matters")


@pytest.fixture(scope="session")
def real_catalogue():
    from catalogue.loader import load_catalogue

    return load_catalogue(strict=False)   # strict validation has its own test
