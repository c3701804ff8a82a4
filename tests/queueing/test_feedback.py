"""After the decision the status page asks one satisfaction question, once per ticket, in
the visitor's language; the supervisor sees the answers by case type and by desk."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from center.errors import DomainError
from center.models import Role
from queueing.models import Feedback
from queueing.selectors import ratings_today
from queueing.services import desk_open, feedback_give, ticket_resolve
from tests.center.factories import staff_user
from tests.queueing.factories import issue, serve_next
from tests.queueing.web import text


def decide(desk, rep, outcome: str = "DENIED") -> None:
    serve_next(desk, rep)
    ticket_resolve(desk=desk, outcome=outcome, reason_code="", explanation="Decided.", by=rep)


@pytest.fixture
def decided(issued, open_desk, rep):
    decide(open_desk, rep)
    issued.ticket.refresh_from_db()
    return issued


def test_the_question_appears_only_after_the_decision(client, issued, open_desk, rep):
    waiting = client.get(f"/t/{issued.token}/")
    assert "How satisfied are you" not in text(waiting)
    decide(open_desk, rep)
    done = client.get(f"/t/{issued.token}/")
    assert "How satisfied are you with today" in text(done)
    assert 'name="rating"' in done.content.decode()


def test_visitor_answers_once(client, decided):
    response = client.post(
        f"/t/{decided.token}/feedback/", {"rating": "4", "comment": "Quick and kind."}, follow=True
    )
    assert "Thank you for your answer." in text(response)
    assert "you rated this visit 4 out of 5" in text(response)
    assert 'name="rating"' not in response.content.decode()
    feedback = Feedback.objects.get()
    assert (feedback.ticket, feedback.rating, feedback.comment, feedback.language) == (
        decided.ticket,
        4,
        "Quick and kind.",
        "en",
    )

    again = client.post(f"/t/{decided.token}/feedback/", {"rating": "1"}, follow=True)
    assert "You already answered for this visit." in text(again)
    assert Feedback.objects.get().rating == 4


def test_a_rating_is_required_and_between_1_and_5(client, decided):
    for data in ({}, {"rating": "0"}, {"rating": "6"}, {"rating": "x"}):
        response = client.post(f"/t/{decided.token}/feedback/", data)
        assert response.status_code == 400, data
    assert "Choose a number from 1 to 5." in text(client.post(f"/t/{decided.token}/feedback/"))
    assert not Feedback.objects.exists()


def test_no_answer_before_the_decision(client, issued):
    response = client.post(f"/t/{issued.token}/feedback/", {"rating": "5"}, follow=True)
    assert "once your case has been decided" in text(response)
    with pytest.raises(DomainError):
        feedback_give(ticket=issued.ticket, rating=5)
    assert not Feedback.objects.exists()


def test_the_question_speaks_the_visitors_language(client, center, case_type, reception, desk):
    rep = staff_user(center, Role.REPRESENTATIVE, "rep-zh")
    chinese = issue(center, case_type, by=reception, language="zh-hans")
    decide(desk_open(desk=desk, by=rep), rep)
    response = client.post(f"/t/{chinese.token}/feedback/", {"rating": "5"}, follow=True)
    assert Feedback.objects.get().language == "zh-hans"
    assert response.status_code == 200


def test_the_database_holds_one_answer_per_ticket_and_the_range(decided):
    feedback_give(ticket=decided.ticket, rating=3)
    with pytest.raises(IntegrityError), transaction.atomic():
        Feedback.objects.create(
            ticket=decided.ticket, rating=2, language="en", given_at=decided.ticket.issued_at
        )
    Feedback.objects.all().delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        Feedback.objects.create(
            ticket=decided.ticket, rating=6, language="en", given_at=decided.ticket.issued_at
        )


def test_supervisor_sees_ratings_by_case_type_and_desk_in_one_query(
    client, center, case_type, wallet_case_type, reception, desk, desk2, rep, rep2, supervisor
):
    desk_open(desk=desk, by=rep)
    desk_open(desk=desk2, by=rep2)
    answers = [
        (desk, rep, case_type, 5),
        (desk2, rep2, case_type, 2),
        (desk, rep, wallet_case_type, 4),
    ]
    for number, (at_desk, by, kind, rating) in enumerate(answers):
        issued = issue(center, kind, by=reception, name=f"Visitor {number}")
        decide(at_desk, by)
        feedback_give(
            ticket=issued.ticket.__class__.objects.get(pk=issued.ticket.pk), rating=rating
        )

    with CaptureQueriesContext(connection) as queries:
        ratings = ratings_today(center)
    assert len(queries) == 1
    assert ratings.overall.answers == 3
    assert ratings.overall.mean == pytest.approx(11 / 3)
    by_case_type = {row.label: (row.answers, row.mean) for row in ratings.by_case_type}
    assert by_case_type == {case_type.name: (2, 3.5), wallet_case_type.name: (1, 4.0)}
    assert {row.label: (row.answers, row.mean) for row in ratings.by_desk} == {
        "1": (2, 4.5),
        "2": (1, 2.0),
    }

    client.force_login(supervisor)
    page = text(client.get("/supervisor/day/"))
    assert "Visitors' satisfaction today" in page
    assert "Average 3.7 out of 5, from 3 answers." in page
