"""The Simplified Chinese catalogue: complete, compiled, and really used by the pages.

Many visitors read only Chinese, so every marked string needs a translation. CI has no
gettext tools: the tests read the committed .po and .mo themselves."""

from __future__ import annotations

import ast
import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

from queueing.models import Ticket
from queueing.services import ticket_call_next
from tests.queueing.factories import issue
from tests.queueing.web import HTMX

ROOT = Path(settings.BASE_DIR)
CATALOGUE = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES"
PO = CATALOGUE / "django.po"
MO = CATALOGUE / "django.mo"
SOURCE_DIRS = ("center", "queueing")
CONTEXT_FUNCTIONS = {"pgettext", "pgettext_lazy", "npgettext", "npgettext_lazy"}
GETTEXT_FUNCTIONS = {
    "_",
    "gettext",
    "gettext_lazy",
    "gettext_noop",
    "ngettext",
    "ngettext_lazy",
    *CONTEXT_FUNCTIONS,
}
PLACEHOLDER = re.compile(r"%\(\w+\)[-+ #0]*\d*(?:\.\d+)?[sdifr]|\{\{\s*\w+\s*\}\}")
HAN = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class Entry:
    msgid: str
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)


def _unquote(line: str) -> str:
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    return re.sub(r"\\(.)", lambda m: escapes[m.group(1)], line.strip()[1:-1])


def parse_po(path: Path) -> list[Entry]:  # noqa: PLR0912 - one branch per .po keyword
    """A minimal .po reader: flags, msgid, msgid_plural and msgstr (plural forms too);
    obsolete (#~) entries are skipped like every other comment."""
    entries: list[Entry] = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry: Entry | None = None
        flags: set[str] = set()
        context: str | None = None
        target: str | None = None
        for line in block.splitlines():
            if line.startswith("#,"):
                flags |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith("#") or not line.strip():
                continue
            elif line.startswith("msgctxt "):
                context, target = _unquote(line[len("msgctxt ") :]), "msgctxt"
            elif line.startswith("msgid_plural "):
                assert entry is not None
                entry.msgid_plural, target = _unquote(line[len("msgid_plural ") :]), "plural"
            elif line.startswith("msgid "):
                entry = Entry(_unquote(line[len("msgid ") :]), msgctxt=context, flags=flags)
                target = "msgid"
            elif line.startswith("msgstr"):
                assert entry is not None
                entry.msgstr.append(_unquote(line.split(" ", 1)[1]))
                target = "msgstr"
            elif target == "msgctxt":  # a continuation line of the context
                context = (context or "") + _unquote(line)
            else:  # a continuation line of the last keyword
                assert entry is not None
                if target == "msgid":
                    entry.msgid += _unquote(line)
                elif target == "plural":
                    entry.msgid_plural = (entry.msgid_plural or "") + _unquote(line)
                else:
                    entry.msgstr[-1] += _unquote(line)
        if entry is not None:
            entries.append(entry)
    return entries


ENTRIES = parse_po(PO)
HEADER = next(entry for entry in ENTRIES if entry.msgid == "")
MESSAGES = [entry for entry in ENTRIES if entry.msgid]


def _is_code(text: str) -> bool:
    """Nothing to translate: no words once the placeholders are gone (numbers, dashes)."""
    return not re.search(r"[A-Za-z]", PLACEHOLDER.sub("", text))


def _placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


@pytest.fixture(scope="module")
def compiled() -> gettext.GNUTranslations:
    with MO.open("rb") as mo:
        return gettext.GNUTranslations(mo)


# The catalogue itself -------------------------------------------------------------------


def test_the_catalogue_has_the_chinese_header():
    assert MESSAGES, "no messages in the catalogue"
    assert "fuzzy" not in HEADER.flags
    header = HEADER.msgstr[0]
    assert "Language: zh_Hans\n" in header
    assert "Plural-Forms: nplurals=1; plural=0;\n" in header
    assert "charset=UTF-8" in header


def test_no_entry_is_fuzzy_or_untranslated():
    fuzzy = [entry.msgid for entry in MESSAGES if "fuzzy" in entry.flags]
    empty = [entry.msgid for entry in MESSAGES if not all(s.strip() for s in entry.msgstr)]
    assert not fuzzy, f"fuzzy entries: {fuzzy}"
    assert not empty, f"untranslated entries: {empty}"


def test_plural_entries_have_the_one_chinese_form():
    for entry in MESSAGES:
        assert len(entry.msgstr) == 1, entry.msgid


@pytest.mark.parametrize("entry", MESSAGES, ids=lambda entry: entry.msgid[:40])
def test_every_message_is_translated_in_the_compiled_catalogue(entry, compiled):
    """Read back from the .mo: it must be compiled from the .po as it is now."""
    if entry.msgctxt is not None:
        translations = [compiled.pgettext(entry.msgctxt, entry.msgid)]
    elif entry.msgid_plural is None:
        translations = [compiled.gettext(entry.msgid)]
    else:
        translations = [compiled.ngettext(entry.msgid, entry.msgid_plural, n) for n in (1, 2)]
    for translated in translations:
        assert translated.strip(), f"{entry.msgid!r} has an empty translation"
        assert translated == entry.msgstr[0], f".mo is stale for {entry.msgid!r}: compile it"
        if not _is_code(entry.msgid):
            assert translated != entry.msgid, f"{entry.msgid!r} is left in English"
            assert HAN.search(translated), f"{entry.msgid!r} has no Chinese: {translated!r}"
        expected = _placeholders(entry.msgid)
        assert _placeholders(translated) == expected, f"placeholders differ in {entry.msgid!r}"
        if entry.msgid_plural is not None:
            assert _placeholders(entry.msgid_plural) == expected


def _python_msgids() -> set[str]:
    """First string arguments of gettext calls in the apps' Python code."""
    found: set[str] = set()
    for directory in SOURCE_DIRS:
        for path in (ROOT / directory).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                # pgettext(context, message): the message is the second argument.
                first = (
                    node.args[1] if name in CONTEXT_FUNCTIONS and node.args[1:] else node.args[0]
                )
                if (
                    name in GETTEXT_FUNCTIONS
                    and isinstance(first, ast.Constant)
                    and isinstance(first.value, str)
                ):
                    found.add(first.value)
    return found


TRANSLATE_TAG = re.compile(r"""\{%\s*(?:translate|trans)\s+(["'])(.*?)\1.*?%\}""")
BLOCK_TAG = re.compile(
    r"\{%\s*(?:blocktranslate|blocktrans)\b(.*?)%\}(.*?)\{%\s*(?:endblocktranslate|endblocktrans)\s*%\}",
    re.DOTALL,
)


def _template_msgids() -> set[str]:
    """Strings of {% translate %} and {% blocktranslate %} in the project's templates."""
    found: set[str] = set()
    for path in (ROOT / "templates").rglob("*.html"):
        source = path.read_text(encoding="utf-8")
        found |= {match.group(2) for match in TRANSLATE_TAG.finditer(source)}
        for options, body in BLOCK_TAG.findall(source):
            for part in re.split(r"\{%\s*plural\s*%\}", body):
                # The catalogue doubles a literal percent sign of a block.
                text = re.sub(r"\{\{\s*(\w+)\s*\}\}", r"%(\1)s", part.replace("%", "%%"))
                found.add(" ".join(text.split()) if "trimmed" in options else text)
    return found


def test_every_marked_string_of_the_code_is_in_the_catalogue():
    """A string marked since the catalogue was made would reach visitors in English:
    run makemessages, translate, compilemessages."""
    known = {entry.msgid for entry in MESSAGES}
    known |= {entry.msgid_plural for entry in MESSAGES if entry.msgid_plural}
    marked = _python_msgids() | _template_msgids()
    assert len(marked) > 100
    missing = sorted(marked - known)
    assert not missing, f"not in locale/zh_Hans/LC_MESSAGES/django.po: {missing}"


# The pages ------------------------------------------------------------------------------


def _page(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def chinese_visitor(issued, center, case_type, reception):
    """The second visitor in line, who chose Chinese at the kiosk."""
    return issue(center, case_type, by=reception, name="王秀英", language="zh-hans")


def test_the_status_page_speaks_chinese_to_a_chinese_ticket(client, chinese_visitor):
    page = _page(client.get(f"/t/{chinese_visitor.token}/"))

    assert '<html lang="zh-hans">' in page
    assert "您的号码" in page
    assert "您前面还有 1 人" in page
    assert "业务编号" in page
    assert "我需要暂时离开一下" in page
    assert "Your number" not in page
    assert "ahead of you" not in page


def test_the_checklist_follows_the_visitors_language(client, case_type, chinese_visitor):
    case_type.what_to_bring = [{"en": "National ID card", "zh": "居民身份证"}, "Boarding pass"]
    case_type.save(update_fields=["what_to_bring"])

    chinese = _page(client.get(f"/t/{chinese_visitor.token}/"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = _page(client.get(f"/t/{chinese_visitor.token}/"))

    # An item without Chinese is shown as it was written, in both.
    assert "居民身份证" in chinese
    assert "Boarding pass" in chinese
    assert "National ID card" not in chinese
    assert "National ID card" in english
    assert "Boarding pass" in english
    assert "居民身份证" not in english


def test_the_self_service_hint_shows_in_the_visitors_language_while_waiting(
    client, case_type, chinese_visitor
):
    case_type.self_service_hint = "Restart the app first."
    case_type.self_service_hint_zh = "请先重启应用。"
    case_type.save(update_fields=["self_service_hint", "self_service_hint_zh"])
    status_page = f"/t/{chinese_visitor.token}/"

    chinese = _page(client.get(status_page))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = _page(client.get(status_page))
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME)

    assert "请先重启应用。" in chinese
    assert "Restart the app first." not in chinese
    assert "Restart the app first." in english
    # Once the visitor has left the line, the hint is of no more use.
    client.post(f"{status_page}cancel/")
    cancelled = Ticket.objects.get(pk=chinese_visitor.ticket.pk)
    assert cancelled.status == Ticket.Status.CANCELLED
    assert "请先重启应用。" not in _page(client.get(status_page))


def test_the_kiosk_shows_the_case_types_texts_in_the_language_chosen_there(
    client, reception, case_type
):
    case_type.description, case_type.description_zh = "Locked out.", "账号被锁。"
    case_type.self_service_hint, case_type.self_service_hint_zh = "Reset it.", "自行重置。"
    case_type.what_to_bring = [{"en": "National ID card", "zh": "居民身份证"}]
    case_type.save()
    client.force_login(reception)

    # The questions area that htmx swaps in when the case type is chosen.
    ask = {"case_type": case_type.code}
    chinese = _page(client.get("/kiosk/", {**ask, "language": "zh-hans"}, headers=HTMX))
    english = _page(client.get("/kiosk/", {**ask, "language": "en"}, headers=HTMX))

    assert "账号被锁。" in chinese
    assert "自行重置。" in chinese
    assert "Locked out." not in chinese
    assert "Locked out." in english
    assert "Reset it." in english
    assert "自行重置。" not in english
    assert "居民身份证" in chinese
    assert "National ID card" not in chinese
    assert "National ID card" in english
    assert "居民身份证" not in english


def test_the_status_page_counts_several_people_ahead_in_chinese(
    client, center, case_type, reception, chinese_visitor
):
    later = issue(center, case_type, by=reception, name="李建国", language="zh-hans")

    page = _page(client.get(f"/t/{later.token}/"))

    assert "您前面还有 2 人" in page


def test_the_english_cookie_turns_the_chinese_ticket_page_english(client, chinese_visitor):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    page = _page(client.get(f"/t/{chinese_visitor.token}/"))

    assert '<html lang="en">' in page
    assert "Your number" in page
    assert "1 person ahead of you" in page
    assert "您的号码" not in page
    assert "您前面还有" not in page


def test_the_called_visitor_is_sent_to_the_desk_in_chinese(
    client, center, case_type, reception, open_desk
):
    called = issue(center, case_type, by=reception, name="王秀英", language="zh-hans")
    ticket_call_next(desk=open_desk, by=open_desk.operator)

    page = _page(client.get(f"/t/{called.token}/"))

    assert "轮到您了" in page
    assert f"请立即前往 {open_desk.number} 号窗口" in page
    assert "Go to desk" not in page


def test_the_login_page_follows_the_browsers_chinese(client):
    page = _page(client.get("/accounts/login/", headers={"accept-language": "zh-hans"}))

    assert '<html lang="zh-hans">' in page
    assert "员工登录" in page
    assert "Staff sign-in" not in page
    assert "登录" in page


def test_the_login_page_stays_english_for_an_english_browser(client):
    page = _page(client.get("/accounts/login/", headers={"accept-language": "en"}))

    assert "Staff sign-in" in page
    assert "员工登录" not in page
