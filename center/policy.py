"""The platform's policy vocabulary: why an account can be restricted, and what each
outcome of a case means. Every suspension carries one of these reason codes, so a visitor
is always told why, in plain words, with the clause it rests on."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SuspensionReason(models.TextChoices):
    NONE = "NONE", _("No restriction")
    UNVERIFIED_OWNERSHIP = "UNVERIFIED_OWNERSHIP", _("Ownership could not be verified")
    SUSPICIOUS_LOGIN = "SUSPICIOUS_LOGIN", _("Suspicious sign-in activity")
    PROLONGED_FOREIGN_USE = "PROLONGED_FOREIGN_USE", _("Long use from abroad")
    COUNTERFEIT_GOODS = "COUNTERFEIT_GOODS", _("Reported sale of counterfeit goods")
    SPAM = "SPAM", _("Bulk unsolicited messages")
    MASS_ACTION = "MASS_ACTION", _("Platform-wide enforcement action")
    CONFLICTING_SOFTWARE = "CONFLICTING_SOFTWARE", _("Blocked beside incompatible software")


POLICY_CLAUSES: dict[str, str] = {
    SuspensionReason.NONE: "",
    SuspensionReason.UNVERIFIED_OWNERSHIP: "Terms of Service §4.2 (account security)",
    SuspensionReason.SUSPICIOUS_LOGIN: "Terms of Service §4.3 (protection of compromised accounts)",
    SuspensionReason.PROLONGED_FOREIGN_USE: "Wallet Terms §7.1 (anti-money-laundering review)",
    SuspensionReason.COUNTERFEIT_GOODS: "Merchant Terms §9.4 (intellectual property)",
    SuspensionReason.SPAM: "Community Rules §2.1 (unsolicited messages)",
    SuspensionReason.MASS_ACTION: "Terms of Service §12 (platform integrity measures)",
    SuspensionReason.CONFLICTING_SOFTWARE: "Client Software Terms §3 (compatibility)",
}

PLAIN_EXPLANATIONS: dict[str, str] = {
    SuspensionReason.NONE: _("The account is not restricted."),
    SuspensionReason.UNVERIFIED_OWNERSHIP: _(
        "The account was locked because its owner could no longer be confirmed, for "
        "example because the registered phone number was deactivated or reassigned."
    ),
    SuspensionReason.SUSPICIOUS_LOGIN: _(
        "The account was locked to protect it after sign-ins that did not look like the owner's."
    ),
    SuspensionReason.PROLONGED_FOREIGN_USE: _(
        "The wallet was frozen for a routine review because it was used from abroad for a "
        "long time. Payments resume once the owner's identity is verified again."
    ),
    SuspensionReason.COUNTERFEIT_GOODS: _(
        "The merchant account was suspended after a complaint that listed goods infringe "
        "someone's intellectual property."
    ),
    SuspensionReason.SPAM: _("The account sent many unsolicited messages."),
    SuspensionReason.MASS_ACTION: _(
        "The account was caught by a platform-wide enforcement measure, not by anything "
        "specific to this account."
    ),
    SuspensionReason.CONFLICTING_SOFTWARE: _(
        "The desktop program stopped working because other software on the computer "
        "blocks it. Nothing is wrong with the account; the fix is on the computer."
    ),
}


def explain_suspension(reason: str) -> str:
    return str(PLAIN_EXPLANATIONS.get(reason, PLAIN_EXPLANATIONS[SuspensionReason.NONE]))


def policy_clause(reason: str) -> str:
    return POLICY_CLAUSES.get(reason, "")
