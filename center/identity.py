"""Account-knowledge questions: generated from the platform account's record, scored on
the server.

The questions of one attempt are derived from a keyed hash of the server's secret, the
case and the attempt number, so the server can regenerate the expected answers when the
form comes back: they are never put in the page, the session or the check's record.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from center.models import Case, CheckResult, IdentityCheck, IdentityCheckMethod

#: How many knowledge attempts a case gets.
MAX_ATTEMPTS = 3
#: Score (0..1) at or above which the visitor passes; below FAIL_BELOW fails; between:
#: inconclusive, and the representative uses another check.
PASS_AT = 0.75
FAIL_BELOW = 0.5
#: A quiz needs at least this many questions to say anything.
MIN_QUESTIONS = 2
CHOICES_SHOWN = 6
YEAR_FIRST = 2000

# Plausible decoys mixed with the real contacts and groups.
DECOY_CONTACTS = (
    "Wang Jun",
    "Li Na",
    "Zhang Min",
    "Liu Fang",
    "Chen Jie",
    "Yang Li",
    "Huang Lei",
    "Zhao Qiang",
    "Wu Xia",
    "Zhou Tao",
    "Xu Ming",
    "Sun Hui",
    "Uncle Ping",
    "Cousin Dan",
    "Teacher Gao",
)
DECOY_GROUPS = (
    "Class of 2008 Reunion",
    "Shenzhen Runners",
    "Family Chat",
    "Photography Club",
    "Book Club Futian",
    "Basketball Tuesdays",
    "Parents of Grade 3",
    "Old Colleagues",
    "Travel Deals",
    "Hiking Guangzhou",
    "Night Market Food",
    "Guitar Practice",
)


@dataclass(frozen=True)
class Question:
    """One question as the page shows it: ``options`` for choice questions only."""

    key: str
    kind: str  # "year", "digits" or "choices"
    prompt: str
    options: tuple[str, ...] = ()
    digits: int = 0


@dataclass(frozen=True)
class Quiz:
    attempt: int
    questions: tuple[Question, ...]
    # The expected answers stay on the server: excluded from repr and from templates.
    expected: Mapping[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True)
class Score:
    score: float
    result: str
    per_question: dict[str, float]


def quiz_seed(secret: str, case_key: str, attempt: int) -> int:
    digest = hmac.new(
        secret.encode(), f"knowledge:{case_key}:{attempt}".encode(), hashlib.sha256
    ).digest()
    return int.from_bytes(digest[:8], "big")


def hidden_digits(former_phone: str, masked: str) -> str:
    """The digits of the former phone that the masked number on the desk hides."""
    digits = "".join(ch for ch in former_phone if ch.isdigit())
    if len(digits) != len(masked):
        return ""
    return "".join(d for d, m in zip(digits, masked, strict=True) if m == "*")


def build_quiz(
    *,
    knowledge: Mapping[str, Any],
    registration_year: int | None,
    phone_masked: str,
    seed: int,
    attempt: int,
) -> Quiz:
    """The questions this account's record can support, in a seeded random order, with
    seeded decoys for the multiple-choice ones."""
    rng = random.Random(seed)  # noqa: S311 - shuffling, not a secret
    questions: list[Question] = []
    expected: dict[str, Any] = {}
    year = knowledge.get("registration_year") or registration_year
    if year:
        questions.append(
            Question(
                "registration_year", "year", str(_("In which year was the account registered?"))
            )
        )
        expected["registration_year"] = int(year)
    for key, real, decoys, prompt in (
        (
            "contacts",
            knowledge.get("contacts") or [],
            DECOY_CONTACTS,
            _("Which of these people were among your contacts? Tick every one."),
        ),
        (
            "groups",
            knowledge.get("groups") or [],
            DECOY_GROUPS,
            _("Which of these groups were you a member of? Tick every one."),
        ),
    ):
        answers = [str(item) for item in real][:3]
        if not answers:
            continue
        pool = [item for item in decoys if item not in answers]
        options = answers + rng.sample(pool, k=min(len(pool), CHOICES_SHOWN - len(answers)))
        rng.shuffle(options)
        questions.append(Question(key, "choices", str(prompt), tuple(options)))
        expected[key] = frozenset(answers)
    hidden = hidden_digits(str(knowledge.get("former_phone", "")), phone_masked)
    if hidden:
        questions.append(
            Question(
                "phone_digits",
                "digits",
                str(
                    _(
                        "The registration phone was %(masked)s. "
                        "Which digits are hidden by the stars?"
                    )
                )
                % {"masked": phone_masked},
                digits=len(hidden),
            )
        )
        expected["phone_digits"] = hidden
    rng.shuffle(questions)
    return Quiz(attempt=attempt, questions=tuple(questions), expected=expected)


def _score_one(question: Question, expected: Any, answer: Any) -> float:
    if question.kind == "year":
        try:
            return 1.0 if int(str(answer).strip()) == expected else 0.0
        except ValueError:
            return 0.0
    if question.kind == "digits":
        return 1.0 if "".join(str(answer).split()) == expected else 0.0
    picked = {str(item) for item in (answer or [])} & set(question.options)
    right, wrong = len(picked & expected), len(picked - expected)
    return max(0.0, (right - wrong) / len(expected))


def score_quiz(quiz: Quiz, answers: Mapping[str, Any]) -> Score:
    """Each question scores 0..1 (a choice question: right picks minus wrong picks over
    the real ones); the mean decides PASS, FAIL or INCONCLUSIVE."""
    per_question = {
        q.key: round(_score_one(q, quiz.expected[q.key], answers.get(q.key)), 3)
        for q in quiz.questions
    }
    score = sum(per_question.values()) / len(per_question) if per_question else 0.0
    if score >= PASS_AT:
        result = CheckResult.PASS
    elif score < FAIL_BELOW:
        result = CheckResult.FAIL
    else:
        result = CheckResult.INCONCLUSIVE
    return Score(score=round(score, 3), result=result, per_question=per_question)


class GuardianRelationship(models.TextChoices):
    MOTHER = "MOTHER", _("Mother")
    FATHER = "FATHER", _("Father")
    LEGAL_GUARDIAN = "LEGAL_GUARDIAN", _("Legal guardian (court or registry document)")
    GRANDPARENT = "GRANDPARENT", _("Grandparent with custody")


def knowledge_attempts(case: Case) -> int:
    return IdentityCheck.objects.filter(case=case, method=IdentityCheckMethod.KNOWLEDGE).count()


def quiz_for_case(case: Case, attempt: int) -> Quiz | None:
    """The questions of one attempt, or None when the account record supports too few."""
    account = case.platform_account
    if account is None:
        return None
    quiz = build_quiz(
        knowledge=(account.records or {}).get("knowledge") or {},
        registration_year=account.registration_year,
        phone_masked=account.registration_phone_masked,
        seed=quiz_seed(settings.SECRET_KEY, f"{case.pk}:{case.reference}", attempt),
        attempt=attempt,
    )
    return quiz if len(quiz.questions) >= MIN_QUESTIONS else None


@dataclass(frozen=True)
class CheckState:
    """Where one identity method stands on a case: its latest result, if any."""

    method: str
    label: str
    required: bool
    result: str  # "" while missing
    performed_at: Any = None
    performed_by: str = ""

    @property
    def state(self) -> str:
        return {"": "missing", CheckResult.PASS: "passed", CheckResult.FAIL: "failed"}.get(
            self.result, "inconclusive"
        )


def check_states(case: Case, checks: list[IdentityCheck] | None = None) -> list[CheckState]:
    """The case type's required methods first, then any other method already used. A
    method has passed once any of its checks passed (as the resolution services count
    it, see ``case_missing_checks``); otherwise its latest check decides its state."""
    if checks is None:
        checks = list(
            IdentityCheck.objects.filter(case=case)
            .select_related("performed_by")
            .order_by("performed_at", "pk")
        )
    latest = {check.method: check for check in checks}
    latest.update({check.method: check for check in checks if check.result == CheckResult.PASS})
    required = [
        code for code in case.case_type.required_checks if code in IdentityCheckMethod.values
    ]
    methods = required + [code for code in latest if code not in required]
    states = []
    for code in methods:
        check = latest.get(code)
        states.append(
            CheckState(
                method=code,
                label=str(IdentityCheckMethod(code).label),
                required=code in required,
                result=check.result if check else "",
                performed_at=check.performed_at if check else None,
                performed_by=(
                    check.performed_by.get_full_name() or check.performed_by.get_username()
                )
                if check
                else "",
            )
        )
    return states
