import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from center import clock
from center.models import CaseType, Center, PlatformAccount, Role, StaffProfile
from center.policy import SuspensionReason


class CenterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Center
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Center {n}")
    slug = factory.Sequence(lambda n: f"center-{n}")
    timezone = "Asia/Shanghai"
    languages = factory.LazyFunction(lambda: ["zh-hans", "en"])


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    password = factory.django.Password("walkin-test")


def staff_user(center: Center, role: str, username: str | None = None):
    """A staff login of ``role`` working in ``center``."""
    user = UserFactory(**({"username": username} if username else {}))
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.add(group)
    StaffProfile.objects.get_or_create(user=user, defaults={"center": center})
    return user


class CaseTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CaseType
        django_get_or_create = ("code",)

    code = "ACCOUNT_SUSPENDED"
    name = "Account suspended"
    skill = "ACCOUNTS"
    expected_service_s = 600
    intake_fields = factory.LazyFunction(
        lambda: [
            {
                "name": "registration_year",
                "label": "Year registered",
                "kind": "year",
                "required": True,
            },
            {"name": "former_phone_digits", "label": "Phone digits", "kind": "phone_digits"},
        ]
    )
    required_checks = factory.LazyFunction(list)
    what_to_bring = factory.LazyFunction(lambda: ["ID card"])


class PlatformAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlatformAccount
        django_get_or_create = ("handle",)

    handle = factory.Sequence(lambda n: f"account.{n}")
    display_name = "Account Owner"
    kind = PlatformAccount.Kind.PERSONAL
    status = PlatformAccount.Status.SUSPENDED
    suspension_reason = SuspensionReason.UNVERIFIED_OWNERSHIP
    suspension_automated = True
    suspended_at = factory.LazyFunction(clock.now)
    registration_year = 2011
    registration_phone_masked = "138****0921"


ROLES = Role
