"""Settings for Walk-in Center, configured only through environment variables.

Embedded default (no variables set): SQLite in ``var/``, the in-memory channel layer and
cache, one process, plain HTTP. Production: ``DATABASE_URL`` (PostgreSQL), ``REDIS_URL``,
``SECRET_KEY``, ``ALLOWED_HOSTS`` and, only for development, ``DEBUG``. Setting
``SECRET_KEY`` marks a deployment: HTTPS-only cookies, HSTS and the HTTPS redirect are on
unless turned off one by one (see docs/deploy.md).
"""

import datetime as dt
import os
import secrets
import sys
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("WALKIN_VAR_DIR", BASE_DIR / "var"))


def _env_bool(name: str, *, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def _embedded_secret_key() -> str:
    """A random key kept in var/ so the embedded default needs no hand-made env file."""
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


DEBUG = _env_bool("DEBUG")
SECRET_KEY = os.environ.get("SECRET_KEY") or _embedded_secret_key()
# A deployment sets SECRET_KEY (every worker needs the same one). The embedded default
# (tests, `manage.py demo`, local runs) has none and is served over plain HTTP; the demo
# command always is, so its cookies work at http://127.0.0.1:8000.
DEPLOYED = bool(os.environ.get("SECRET_KEY")) and not DEBUG and sys.argv[1:2] != ["demo"]
ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
    if host.strip()
]
CSRF_TRUSTED_ORIGINS = [
    origin.strip()
    for origin in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",")
    if origin.strip()
]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "channels",
    "axes",
    "center",
    "queueing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "center.middleware.reject_nul_characters",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "center.ratelimit.RateLimitMiddleware",
    # Last, as django-axes requires: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "center.urls"
ASGI_APPLICATION = "center.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "builtins": ["django.templatetags.i18n"],
        },
    },
]

# Form widgets through Django's own Jinja2 templates where they exist (the admin's are
# Django templates): about 5 ms of the kiosk page's 14 through the Django template
# language, about 2 ms through Jinja2. Pages stay Django templates.
FORM_RENDERER = "center.rendering.WidgetRenderer"

#: Threads per worker process for the synchronous part of HTTP requests (center/asgi.py):
#: at most this many requests run their views at once, the rest wait on the event loop.
#: Keep it below DATABASE_POOL_MAX: the live screens take connections from the pool too.
REQUEST_THREADS = int(os.environ.get("REQUEST_THREADS", "16"))

_SQLITE_OPTIONS = {
    # BEGIN IMMEDIATE takes the write lock up front: concurrent desks queue for it
    # instead of failing with "database is locked" when a read turns into a write.
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}

# PostgreSQL connections: a pool per worker process (psycopg_pool), which bounds every
# thread's connections, the request threads' (center/asgi.py) and the live screens' alike.
# (Under Django's own ASGI handler, a thread per request, connections kept per thread with
# CONN_MAX_AGE were never reused and piled up until the server refused more.) A pooled
# connection serves request after request, and the few
# statements that run on every call of a desk (center/db.py) are prepared on it once they
# ran five times there; Django's own queries never are. Behind a pooler that cannot keep
# prepared statements (PgBouncer before 1.21, or without max_prepared_statements) set
# PREPARED_STATEMENTS=0.
POSTGRES_OPTIONS: dict[str, object] = {
    "pool": {
        "min_size": int(os.environ.get("DATABASE_POOL_MIN", "2")),
        "max_size": int(os.environ.get("DATABASE_POOL_MAX", "20")),
        # A request waits this long for a free connection before it fails.
        "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT", "10")),
    },
}
if _env_bool("PREPARED_STATEMENTS", default=True):
    POSTGRES_OPTIONS["prepare_threshold"] = 5

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'walkin.sqlite3'}",
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # Django's SQLite, with this process's write transactions queued in the process
    # (center/sqlite/base.py).
    DATABASES["default"]["ENGINE"] = "center.sqlite"
    DATABASES["default"]["OPTIONS"] = _SQLITE_OPTIONS
    # Each thread keeps its connection (the request threads are a fixed set): opening one
    # costs its PRAGMAs and a cold page cache, several milliseconds of every request.
    DATABASES["default"]["CONN_MAX_AGE"] = None
    # A file, not :memory:, so threads and live servers in tests share it; one per test
    # run so that runs side by side do not clobber each other.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_walkin_{os.getpid()}"}
    DATABASES["default"].setdefault("OPTIONS", {}).update(POSTGRES_OPTIONS)

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # A read timeout longer than the layer's 5 s blocking pop: with redis-py's
                # default of 5 s the two race and a waiting reader fails.
                "hosts": [{"address": REDIS_URL, "max_connections": 2000, "socket_timeout": 15}],
                # Deployments (or test runs) sharing one Redis keep apart by prefix.
                "prefix": os.environ.get("CHANNEL_LAYER_PREFIX", "asgi"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# The cache holds only rate-limit counters: shared by every worker through Redis, else
# per process.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "walkin"),
    }
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First, as django-axes requires: refuses sign-ins from a locked-out username and IP.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# One process serves everything, static files included (WhiteNoise). Without STATIC_ROOT
# they are served straight from the apps and static/; a deployment that ran collectstatic
# into STATIC_ROOT serves the collected, compressed copies instead.
STATIC_ROOT = os.environ.get("STATIC_ROOT") or None

# Identity media (face videos, document photos) and reference photos. Never served as
# static files: staff views stream them after checking the role, and a purge command
# deletes them after the center's retention period. Several workers need a shared disk.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or VAR_DIR / "media")

# Texts to visitors who stepped away (queueing/messaging.py): the dotted path of a class
# with ``send(*, phone, body)``. The default keeps every text in the outbox (admin).
WALKIN_SMS_SENDER = os.environ.get("WALKIN_SMS_SENDER") or "queueing.messaging.OutboxSender"
WHITENOISE_USE_FINDERS = STATIC_ROOT is None
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Security -------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# HTTPS. Behind a load balancer that terminates TLS, SECURE_PROXY_SSL_HEADER=1 trusts its
# X-Forwarded-Proto (only if it always sets it); SECURE_SSL_REDIRECT=0 when the balancer
# already redirects plain HTTP.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _env_bool("SECURE_COOKIES", default=DEPLOYED)
SECURE_SSL_REDIRECT = _env_bool("SECURE_SSL_REDIRECT", default=DEPLOYED)
if _env_bool("SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if DEPLOYED else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=DEPLOYED)
SECURE_HSTS_PRELOAD = _env_bool("SECURE_HSTS_PRELOAD", default=DEPLOYED)
if DEPLOYED and not SECURE_SSL_REDIRECT:
    # Turned off on purpose: the load balancer redirects plain HTTP to HTTPS.
    SILENCED_SYSTEM_CHECKS = ["security.W008"]

# Content Security Policy (Django's own), on everywhere, the embedded default included:
# scripts and styles only from this site (no inline code: htmx runs with allowEval and
# its inline indicator styles off, see templates/base.html), sockets to this site only.
# An inline script would need nonce="{{ csp_nonce }}".
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# The client's address for rate limits and sign-in lockouts: REMOTE_ADDR, or behind
# TRUSTED_PROXY_COUNT proxies that each append to X-Forwarded-For, the address the
# outermost of them saw (center/ratelimit.py).
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))

# Sign-in lockout (django-axes): five failures for one username from one address lock
# that pair out for 15 minutes; a success resets the count. A shared center network is
# not locked out by one person's typos.
# No start-up banner on every manage.py command.
AXES_VERBOSE = False
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "center.ratelimit.sign_in_locked_out"
AXES_CLIENT_IP_CALLABLE = "center.ratelimit.client_ip"
# Failed attempts are kept (they are the lockout); a log of every sign-in with its address
# and browser would be personal data kept for nothing.
AXES_DISABLE_ACCESS_LOG = True

# Rate limits (center/ratelimit.py), per URL name: (requests, window in seconds). A
# refused request gets 429 and a page that says when to try again.
RATE_LIMITS = {
    # Check-in submissions per kiosk login: far above a real reception desk's pace.
    "kiosk-checkin": (30, 60),
    # Unknown or expired status-page tokens per client address; a phone with its own
    # valid token never counts.
    "visitor-token": (30, 600),
}

# No personal data in the logs: visitors' tokens are blanked from logged paths
# (center/logs.py); nothing logs names, phones or complaints (tests/security/test_logs.py).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_tokens": {"()": "center.logs.RedactVisitorTokens"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_tokens"]}},
    "loggers": {
        "django.request": {"filters": ["redact_tokens"]},
        "django.server": {"filters": ["redact_tokens"]},
        # At DEBUG it logs whole template contexts (visitors' pages included).
        "django.template": {"level": "INFO"},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
