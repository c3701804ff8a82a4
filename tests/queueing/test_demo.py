from django.core.management import call_command

from center.models import CaseType, PlatformAccount, ReporterCategory, StaffProfile
from center.policy import SuspensionReason
from queueing.demo import ACCOUNTS, CASE_TYPES, STAFF, load_demo
from queueing.models import Desk, Service, Ticket


def _counts():
    return [
        model.objects.count()
        for model in (CaseType, PlatformAccount, StaffProfile, Desk, Service, Ticket)
    ]


def test_demo_loads_idempotently(db):
    load_demo()
    first = _counts()
    call_command("seed_demo", verbosity=0)
    assert _counts() == first
    assert first[:3] == [len(CASE_TYPES), len(ACCOUNTS), len(STAFF)]


def test_demo_covers_every_case_of_the_brief(db):
    load_demo()
    journalist = PlatformAccount.objects.get(handle="lin.reporter")
    assert journalist.registration_phone_active is False
    assert journalist.suspension_reason == SuspensionReason.UNVERIFIED_OWNERSHIP
    merchant = PlatformAccount.objects.get(handle="fanghua.shop")
    assert merchant.reporter_category == ReporterCategory.RIGHTS_HOLDER
    assert merchant.reporter_identity
    assert PlatformAccount.objects.get(handle="zhang.wei.pay").status == "FROZEN"
    assert PlatformAccount.objects.get(handle="chen.hao.game").records["game_spending"]
    assert PlatformAccount.objects.get(handle="wang.pc").suspension_reason == (
        SuspensionReason.CONFLICTING_SOFTWARE
    )
    skills = set(Service.objects.values_list("code", flat=True))
    assert {case_type["skill"] for case_type in CASE_TYPES} <= skills
    # Every service has a desk that serves it.
    for service in Service.objects.all():
        assert service.desks.exists(), service.code
    assert Ticket.objects.waiting().count() == 3
