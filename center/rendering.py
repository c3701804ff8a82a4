"""How form widgets are rendered: through Django's own Jinja2 widget templates, which
make the same markup as its Django-language ones in less than half the time (a kiosk
page renders some twenty widgets). Templates that exist only in the Django template
language, such as the admin's widgets, are rendered as before."""

from __future__ import annotations

from typing import Any

from django.forms.renderers import DjangoTemplates, Jinja2
from django.template import TemplateDoesNotExist


class WidgetRenderer(Jinja2):
    def __init__(self) -> None:
        self.django_templates = DjangoTemplates()

    def get_template(self, template_name: str) -> Any:
        try:
            return super().get_template(template_name)
        except TemplateDoesNotExist:
            return self.django_templates.get_template(template_name)
