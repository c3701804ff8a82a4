from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CenterConfig(AppConfig):
    name = "center"
    verbose_name = _("Front desk")
