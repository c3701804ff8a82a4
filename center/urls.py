from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.cache import cache_control


@cache_control(max_age=86400, public=True)
def no_favicon(request: HttpRequest) -> HttpResponse:
    """Pages declare no icon (``<link rel="icon" href="data:,">``), but the admin's do not,
    and browsers then ask for /favicon.ico: an empty answer, not a 404 in every console."""
    return HttpResponse(status=204)


urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("favicon.ico", no_favicon, name="favicon"),
    path("", include("queueing.urls")),
]
