"""The admin's pages render: its widgets have templates only in the Django template
language, which the project's widget renderer (Jinja2 first) must still find."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.center.factories import UserFactory

MODELS = sorted((model._meta.app_label, model._meta.model_name) for model in admin.site._registry)


@pytest.mark.django_db
@pytest.mark.parametrize(("app", "model"), MODELS)
def test_every_admin_list_and_add_page_renders(client, app, model):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    for view in ("changelist", "add"):
        response = client.get(reverse(f"admin:{app}_{model}_{view}"))
        # The append-only logs refuse adding (403); nothing may fail to render.
        assert response.status_code in {200, 403}, (view, response.status_code)


@pytest.mark.django_db
def test_the_desk_form_renders_the_admins_own_widgets(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get(reverse("admin:queueing_desk_add")).content.decode()
    # The related-object links around a foreign key: an admin-only widget template.
    assert 'class="related-widget-wrapper"' in page
