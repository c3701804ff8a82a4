"""The demo center: desks, staff, case types and platform accounts covering every case of
the product brief. Loading it twice changes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.db import transaction

from center import clock
from center.models import CaseType, Center, PlatformAccount, ReporterCategory, Role, StaffProfile
from center.policy import SuspensionReason
from queueing.models import Desk, Service, Ticket
from queueing.services import CheckIn, checkin_issue_ticket

DEMO_PASSWORD = "walkin-demo"  # noqa: S105 - listed in the README for the demo only
CENTER_SLUG = "shenzhen"

SERVICES = [
    # code, prefix, name, name_zh
    ("ACCOUNTS", "A", "Accounts and access", "账号与登录"),
    ("WALLET", "W", "Wallet and payments", "钱包与支付"),
    ("MERCHANT", "M", "Merchant appeals", "商户申诉"),
    ("MINORS", "S", "Specialist: underage users", "未成年人专员"),
    ("TECH", "T", "Technical guidance", "技术指导"),
]

DESKS = [
    (1, ["ACCOUNTS", "TECH"]),
    (2, ["ACCOUNTS", "TECH"]),
    (3, ["ACCOUNTS", "WALLET"]),
    (4, ["WALLET", "ACCOUNTS"]),
    (5, ["MERCHANT", "ACCOUNTS"]),
    (6, ["MINORS"]),
]

STAFF = [
    # username, full name, role
    ("reception", "Guo Mei", Role.RECEPTION),
    ("rep1", "Liu Yang", Role.REPRESENTATIVE),
    ("rep2", "Zhao Lei", Role.REPRESENTATIVE),
    ("rep3", "Sun Qing", Role.REPRESENTATIVE),
    ("specialist", "He Jing", Role.SPECIALIST),
    ("supervisor", "Ma Hua", Role.SUPERVISOR),
]

CASE_TYPES: list[dict[str, Any]] = [
    {
        "code": "ACCOUNT_SUSPENDED",
        "name": "Account suspended",
        "name_zh": "账号被封",
        "skill": "ACCOUNTS",
        "expected_service_s": 900,
        "description": "The account is suspended and the owner cannot verify it by phone.",
        "description_zh": "账号被封，且账号主人已无法通过手机验证身份。",
        "required_checks": ["KNOWLEDGE", "FACE_VIDEO"],
        "what_to_bring": [
            {"en": "National ID card", "zh": "居民身份证"},
            {"en": "Any phone or computer once signed in", "zh": "曾经登录过该账号的手机或电脑"},
        ],
        "intake_fields": [
            {
                "name": "registration_year",
                "label": "Year the account was registered",
                "label_zh": "注册年份",
                "kind": "year",
                "required": True,
            },
            {
                "name": "former_phone_digits",
                "label": "Last digits of the registration phone",
                "label_zh": "注册手机号后几位",
                "kind": "phone_digits",
            },
            {
                "name": "phone_deactivated",
                "label": "Is that phone number still yours?",
                "label_zh": "该手机号是否仍在使用",
                "kind": "choice",
                "choices": ["Yes", "No, deactivated", "Not sure"],
            },
            {
                "name": "old_contacts",
                "label": "Contacts or groups you remember",
                "label_zh": "记得的好友或群",
                "kind": "text",
                "max_length": 300,
            },
        ],
    },
    {
        "code": "WALLET_FROZEN",
        "name": "Wallet frozen",
        "name_zh": "钱包被冻结",
        "skill": "WALLET",
        "expected_service_s": 780,
        "description": "Payments are blocked, for example after a long stay abroad.",
        "description_zh": "支付被冻结，例如长期在国外之后。",
        "self_service_hint": (
            "If you can still sign in on your own phone and hold a mainland ID card, the app"
            " can lift the freeze itself: Me > Wallet > Security > Unfreeze, with a face scan."
        ),
        "self_service_hint_zh": (
            "如果您仍能在自己的手机上登录并持有居民身份证，可在应用内自助解冻："
            "我 > 钱包 > 安全 > 解除冻结，需刷脸验证。"
        ),
        "required_checks": ["ID_DOCUMENT", "FACE_VIDEO"],
        "what_to_bring": [
            {"en": "National ID card", "zh": "居民身份证"},
            {"en": "The bank card linked to the wallet", "zh": "钱包绑定的银行卡"},
        ],
        "intake_fields": [
            {
                "name": "frozen_since",
                "label": "Frozen since",
                "label_zh": "冻结日期",
                "kind": "date",
            },
            {
                "name": "country_abroad",
                "label": "Country you lived in",
                "label_zh": "居住国家",
                "kind": "text",
                "max_length": 80,
            },
            {
                "name": "companion",
                "label": "Who came with you",
                "label_zh": "陪同人员",
                "kind": "text",
                "max_length": 80,
            },
        ],
    },
    {
        "code": "MERCHANT_APPEAL",
        "name": "Merchant account appeal",
        "name_zh": "商户账号申诉",
        "skill": "MERCHANT",
        "expected_service_s": 1200,
        "description": "A shop was suspended after a complaint, e.g. about counterfeit goods.",
        "description_zh": "店铺因投诉被封，例如涉嫌售假。",
        "required_checks": ["ID_DOCUMENT"],
        "what_to_bring": [
            {"en": "Business licence", "zh": "营业执照"},
            {"en": "Supplier invoices for the listed goods", "zh": "所售商品的进货发票"},
        ],
        "intake_fields": [
            {
                "name": "shop_name",
                "label": "Shop name",
                "label_zh": "店铺名称",
                "kind": "text",
                "required": True,
                "max_length": 120,
            },
            {
                "name": "times_suspended",
                "label": "Times suspended",
                "label_zh": "被封次数",
                "kind": "choice",
                "choices": ["1", "2", "3 or more"],
            },
            {
                "name": "evidence",
                "label": "Proof of authenticity you have",
                "label_zh": "正品证明",
                "kind": "textarea",
            },
        ],
    },
    {
        "code": "MINOR_SPENDING",
        "name": "Spending by a minor",
        "name_zh": "未成年人消费",
        "skill": "MINORS",
        "expected_service_s": 1500,
        "description": "A child spent money in a game; a guardian asks for help or a refund.",
        "description_zh": "孩子在游戏中消费，监护人请求帮助或退款。",
        "required_checks": ["ID_DOCUMENT", "GUARDIAN"],
        "what_to_bring": [
            {"en": "Guardian's ID card", "zh": "监护人身份证"},
            {"en": "Child's ID or household register", "zh": "孩子的身份证或户口簿"},
            {"en": "Bank statements of the payments", "zh": "相关付款的银行流水"},
        ],
        "intake_fields": [
            {
                "name": "game",
                "label": "Game",
                "label_zh": "游戏名称",
                "kind": "text",
                "required": True,
                "max_length": 80,
            },
            {
                "name": "amount",
                "label": "Amount spent",
                "label_zh": "消费金额",
                "kind": "money",
                "required": True,
            },
            {
                "name": "child_age",
                "label": "Child's age",
                "label_zh": "孩子年龄",
                "kind": "choice",
                "choices": [str(age) for age in range(8, 18)],
            },
            {
                "name": "relationship",
                "label": "Your relationship to the child",
                "label_zh": "与孩子的关系",
                "kind": "choice",
                "choices": ["Mother", "Father", "Legal guardian"],
            },
        ],
    },
    {
        "code": "SOFTWARE_CONFLICT",
        "name": "Blocked by other software",
        "name_zh": "与其他软件冲突",
        "skill": "TECH",
        "expected_service_s": 420,
        "description": "The desktop program refuses to run beside other software.",
        "description_zh": "电脑版程序拒绝与其他软件同时运行。",
        "self_service_hint": (
            "Usually solved at home: quit or uninstall the other security program, restart the"
            " computer, then start the desktop app again."
        ),
        "self_service_hint_zh": (
            "通常在家即可解决：退出或卸载另一款安全软件，重启电脑，再打开电脑版程序。"
        ),
        "required_checks": [],
        "what_to_bring": [{"en": "The laptop, if you can", "zh": "方便的话请带上笔记本电脑"}],
        "intake_fields": [
            {
                "name": "other_software",
                "label": "Other security software installed",
                "label_zh": "已安装的其他安全软件",
                "kind": "text",
                "required": True,
                "max_length": 120,
            },
            {
                "name": "operating_system",
                "label": "Operating system",
                "label_zh": "操作系统",
                "kind": "choice",
                "choices": ["Windows", "macOS", "Linux", "Other"],
            },
        ],
    },
    {
        "code": "GENERAL",
        "name": "Other account question",
        "name_zh": "其他账号问题",
        "skill": "ACCOUNTS",
        "expected_service_s": 480,
        "description": "",
        "required_checks": [],
        "what_to_bring": [{"en": "National ID card", "zh": "居民身份证"}],
        "intake_fields": [],
    },
]

ACCOUNTS: list[dict[str, Any]] = [
    {  # The journalist: 15-year-old account, childhood phone long deactivated.
        "handle": "lin.reporter",
        "display_name": "Lin Xiaoyu",
        "kind": PlatformAccount.Kind.PERSONAL,
        "status": PlatformAccount.Status.SUSPENDED,
        "suspension_reason": SuspensionReason.UNVERIFIED_OWNERSHIP,
        "suspension_automated": True,
        "registration_year": 2011,
        "registration_phone_masked": "138****0921",
        "registration_phone_active": False,
        "records": {
            "knowledge": {
                "registration_year": 2011,
                "phone_last_digits": "0921",
                "former_phone": "13857340921",
                "contacts": ["Chen Bo", "Aunt Mei"],
                "groups": ["Journalism Class 2009", "Hiking Shenzhen"],
            }
        },
    },
    {  # Wallet frozen after years abroad; the spouse comes along.
        "handle": "zhang.wei.pay",
        "display_name": "Zhang Wei",
        "kind": PlatformAccount.Kind.WALLET,
        "status": PlatformAccount.Status.FROZEN,
        "suspension_reason": SuspensionReason.PROLONGED_FOREIGN_USE,
        "suspension_automated": True,
        "registration_year": 2015,
        "registration_phone_masked": "139****4410",
        "wallet_balance_cents": 1_284_050,
        "records": {
            "knowledge": {
                "registration_year": 2015,
                "phone_last_digits": "4410",
                "former_phone": "13962184410",
                "contacts": ["Liu Xin", "Brother Hao"],
                "groups": ["Toronto Chinese Association", "Zhang Family"],
            }
        },
    },
    {  # Merchant suspended after a rights-holder complaint: reporter never shown.
        "handle": "fanghua.shop",
        "display_name": "Fanghua Boutique",
        "kind": PlatformAccount.Kind.MERCHANT,
        "status": PlatformAccount.Status.SUSPENDED,
        "suspension_reason": SuspensionReason.COUNTERFEIT_GOODS,
        "suspension_automated": False,
        "registration_year": 2018,
        "registration_phone_masked": "137****7781",
        "reporter_category": ReporterCategory.RIGHTS_HOLDER,
        "reporter_identity": "Maison Lumière Legal Department (complaint IP-77812)",
        "records": {"suspensions": 3},
    },
    {  # A 16-year-old spent over $10,000 with a parent's bank card.
        "handle": "chen.hao.game",
        "display_name": "ChenHao2009",
        "kind": PlatformAccount.Kind.GAME,
        "status": PlatformAccount.Status.ACTIVE,
        "registration_year": 2022,
        "registration_phone_masked": "186****3302",
        "records": {
            "knowledge": {
                "registration_year": 2022,
                "former_phone": "18640913302",
                "contacts": ["Mum", "Li Zihan"],
                "groups": ["Class 10-3", "Legends Squad"],
            },
            "game_spending": [
                {"date": "2026-09-03", "item": "Legendary skin bundle", "amount": "2,480.00"},
                {"date": "2026-09-17", "item": "10,000 gems", "amount": "3,999.00"},
                {"date": "2026-10-02", "item": "Season pass x4", "amount": "1,196.00"},
                {"date": "2026-10-20", "item": "25,000 gems", "amount": "2,850.00"},
            ],
        },
    },
    {  # The elderly man with a strong regional accent.
        "handle": "li.laoye",
        "display_name": "Li Guoqiang",
        "kind": PlatformAccount.Kind.PERSONAL,
        "status": PlatformAccount.Status.SUSPENDED,
        "suspension_reason": SuspensionReason.SUSPICIOUS_LOGIN,
        "suspension_automated": True,
        "registration_year": 2014,
        "registration_phone_masked": "135****1268",
        "records": {
            "knowledge": {
                "former_phone": "13520051268",
                "contacts": ["Old Zhou", "Daughter Li Mei"],
                "groups": ["Retired Workers Tea Club"],
            }
        },
    },
    {  # Blocked because of conflicting software: guidance, not restoration.
        "handle": "wang.pc",
        "display_name": "Wang Fang",
        "kind": PlatformAccount.Kind.PERSONAL,
        "status": PlatformAccount.Status.RESTRICTED,
        "suspension_reason": SuspensionReason.CONFLICTING_SOFTWARE,
        "suspension_automated": True,
        "registration_year": 2019,
        "registration_phone_masked": "150****8830",
    },
    {  # Caught by a platform-wide mass suspension.
        "handle": "mass.case.07",
        "display_name": "Zhou Min",
        "kind": PlatformAccount.Kind.PERSONAL,
        "status": PlatformAccount.Status.SUSPENDED,
        "suspension_reason": SuspensionReason.MASS_ACTION,
        "suspension_automated": True,
        "registration_year": 2020,
        "registration_phone_masked": "133****5127",
    },
]

WAITING_VISITORS = [
    (
        "Lin Xiaoyu",
        "ACCOUNT_SUSPENDED",
        "lin.reporter",
        (),
        "en",
        "My 15-year-old account was suspended without a reason. The phone it was registered "
        "to was my childhood number and no longer exists.",
        {"registration_year": "2011"},
    ),
    (
        "Zhang Wei",
        "WALLET_FROZEN",
        "zhang.wei.pay",
        (),
        "zh-hans",
        "My wallet was frozen while I lived in Canada. My wife is with me.",
        {},
    ),
    (
        "Li Guoqiang",
        "ACCOUNT_SUSPENDED",
        "li.laoye",
        ("ELDERLY", "LANGUAGE"),
        "zh-hans",
        "Staff note: visitor speaks a regional dialect; cannot log in since last week.",
        {"registration_year": "2014"},
    ),
]


@transaction.atomic
def load_demo() -> Center:
    center, _created = Center.objects.update_or_create(
        slug=CENTER_SLUG,
        defaults={
            "name": "Shenzhen Walk-in Center",
            "timezone": "Asia/Shanghai",
            "languages": ["zh-hans", "en"],
        },
    )
    services = {}
    for code, prefix, name, name_zh in SERVICES:
        services[code], _ = Service.objects.update_or_create(
            center=center, code=code, defaults={"prefix": prefix, "name": name, "name_zh": name_zh}
        )
    for number, skills in DESKS:
        desk, _ = Desk.objects.get_or_create(center=center, number=number)
        desk.services.set([services[code] for code in skills])
    for spec in CASE_TYPES:
        CaseType.objects.update_or_create(code=spec["code"], defaults=spec)
    for spec in ACCOUNTS:
        defaults = dict(spec)
        if defaults.get("status") != PlatformAccount.Status.ACTIVE:
            defaults.setdefault("suspended_at", clock.now() - dt.timedelta(days=9))
        PlatformAccount.objects.get_or_create(handle=spec["handle"], defaults=defaults)
    _load_reference_photos()
    _load_staff(center)
    _load_waiting_visitors(center)
    return center


#: Reference photos: a real photograph a package ships, when that package is installed
#: (scikit-image's astronaut, a public-domain NASA portrait). No image file is committed.
REFERENCE_PHOTOS = {"lin.reporter": "astronaut"}


def _load_reference_photos() -> None:
    try:
        from skimage import data  # noqa: PLC0415 - optional: a development dependency
    except ImportError:
        return
    import cv2  # noqa: PLC0415 - only needed here

    for handle, image_name in REFERENCE_PHOTOS.items():
        account = PlatformAccount.objects.get(handle=handle)
        if account.reference_photo:
            continue
        image = cv2.cvtColor(getattr(data, image_name)(), cv2.COLOR_RGB2BGR)
        ok, encoded = cv2.imencode(".png", image)
        if ok:
            account.reference_photo.save(f"{handle}.png", ContentFile(encoded.tobytes()))


def _load_staff(center: Center) -> None:
    user_model = get_user_model()
    for role in Role.values:
        Group.objects.get_or_create(name=role)
    # Hashed once (the real hasher takes about half a second on purpose): every demo
    # member shares the one published password.
    password_hash = ""
    for username, full_name, role in STAFF:
        user, created = user_model.objects.get_or_create(
            username=username,
            # Family name first, as the staff write their names.
            defaults={"first_name": full_name},
        )
        if created:
            password_hash = password_hash or make_password(DEMO_PASSWORD)
            user.password = password_hash
            user.is_staff = role == Role.SUPERVISOR
            user.is_superuser = role == Role.SUPERVISOR
            user.save()
        user.groups.add(Group.objects.get(name=role))
        StaffProfile.objects.get_or_create(user=user, defaults={"center": center})


def _load_waiting_visitors(center: Center) -> None:
    """A few visitors already waiting, so every screen has something to show."""
    if Ticket.objects.filter(center=center).exists():
        return
    reception = get_user_model().objects.get(username="reception")
    for name, code, handle, needs, language, text, complaint in WAITING_VISITORS:
        checkin_issue_ticket(
            center=center,
            checkin=CheckIn(
                full_name=name,
                purpose="CASE",
                language=language,
                screening_passed=True,
                items_stored=True,
                locker_tag=f"L{len(name):02d}",
                recording_rule_acknowledged=True,
                case_type=CaseType.objects.get(code=code),
                account_handle=handle,
                assistance_needs=needs,
                assisted_by_staff=bool(needs),
                complaint=complaint,
                complaint_text=text,
            ),
            by=reception,
        )
