"""Settings shared by every environment; local, test and production override a few of them."""

from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Exchange, Queue

from config.env import BASE_DIR, env, key_ring

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-local-key-never-used-in-production")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# Which agency's deployment this process is (docs/operations.md, "Two deployments"):
# - `single`: both apps in one process on one database, the registry reached in-process (the
#   demo and the test suite);
# - `registry`: the data bureau's deployment: the registry, its API, the stewards' pages and
#   its own accounts (`registry.accounts`), on its own database and Celery queue;
# - `enrollment`: the education bureau's deployment: the portal, officers and schools on their
#   own database, asking the registry over HTTP only (REGISTRY_GATEWAY=http).
DEPLOYMENT = env.str("DEPLOYMENT", default="single")
if DEPLOYMENT not in ("single", "registry", "enrollment"):
    raise ImproperlyConfigured(
        f"DEPLOYMENT must be single, registry or enrollment, not {DEPLOYMENT!r}."
    )
SERVES_REGISTRY = DEPLOYMENT in ("single", "registry")
SERVES_ENROLLMENT = DEPLOYMENT in ("single", "enrollment")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "django_htmx",
    "axes",
    *(["registry"] if SERVES_REGISTRY else []),
    *(["registry.accounts"] if DEPLOYMENT == "registry" else []),
    *(["enrollment"] if SERVES_ENROLLMENT else []),
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.web.ContentSecurityPolicyMiddleware",
    "config.web.NoStoreMiddleware",
    *(["enrollment.portal.middleware.SignInRedirectLogMiddleware"] if SERVES_ENROLLMENT else []),
    "django_htmx.middleware.HtmxMiddleware",
    # Last, so that lockouts see the authenticated request as the views do.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = {
    "single": "config.urls",
    "registry": "config.urls_registry",
    "enrollment": "config.urls_enrollment",
}[DEPLOYMENT]
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# SQLite with no configuration, so that `make demo` needs nothing but Python.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The registry's deployment signs its stewards in against its own accounts; everywhere else
# the education bureau's accounts (whose `steward` role serves the single deployment).
AUTH_USER_MODEL = "registry_accounts.Steward" if DEPLOYMENT == "registry" else "enrollment.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling: five failures lock the username for fifteen minutes.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=15)
# Username and address together: many parents share one carrier-grade NAT address on
# opening day, so the address alone would lock out strangers; and a stranger's failures with
# a known phone number lock that number out from the stranger's address only.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Behind the TLS-terminating proxy every request comes from the proxy's address, which would
# make the lockout one per username for everyone. The client's address is read from
# X-Forwarded-For, counting DJANGO_PROXY_COUNT entries from the right (the ones the product's
# own proxies wrote; anything to their left the client may have forged). 0: the socket's
# address, headers ignored. The API throttles read the same entry (NUM_PROXIES below).
# (axes' AXES_IPWARE_* settings would need django-ipware; one small function does it.)
PROXY_COUNT = env.int("DJANGO_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "config.web.client_address"
AXES_RESET_ON_SUCCESS = True
# A locked-out parent sees a page that says what happened and when to try again.
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "media/"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 8
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "config.web.ProductAutoSchema",
    "EXCEPTION_HANDLER": (
        "enrollment.api.errors.exception_handler"
        if SERVES_ENROLLMENT
        else "registry.api.errors.exception_handler"
    ),
    # JSON bodies of bounded size (DATA_UPLOAD_MAX_MEMORY_SIZE) and depth, for both apps'
    # APIs: Python's json recurses once per level, so a deep body was a server error.
    "DEFAULT_PARSER_CLASSES": [
        "registry.webapi.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Counted in the default cache (CACHES below). The registry's API sets its own (none:
    # department clients are systems whose scopes and audit log govern what they ask).
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.ScopedRateThrottle",
    ],
    # `submissions`: a family files one application a year (two for twins); the rest is
    # a script.
    "DEFAULT_THROTTLE_RATES": {"anon": "60/min", "user": "600/min", "submissions": "30/hour"},
    "NUM_PROXIES": PROXY_COUNT,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Paperless enrollment API",
    "DESCRIPTION": "Applications, decisions and admitted lists; the registry's verification API.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- Celery -------------------------------------------------------------------------------
# With no broker configured the tasks run in-process, so the demo needs no Redis.
CELERY_TASK_ALWAYS_EAGER = not env.str("CELERY_BROKER_URL", default="")
# In-process tasks never reach a broker; the in-memory transport stands in so that nothing
# reaches for a Redis on localhost.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="memory://localhost/")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# JSON only: a pickled message from a compromised broker would run code in the worker.
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
# A message is acknowledged only when its task finished, and goes back to the queue when the
# worker running it dies, so a killed worker costs time, never an application.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Long tasks: a worker takes one message at a time, so a batch is never stuck behind another.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis re-delivers an unacknowledged message after the visibility timeout; every time limit is
# kept below it so that a task still running is never handed to a second worker.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=60 * 60)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_SEND_TASK_EVENTS = False
# A worker would otherwise replace the root logger's handlers with its own, and its log lines
# (task failures, registry errors) would skip the ID number mask of LOGGING below.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_DEFAULT_QUEUE = "default"
# Each deployment declares only its own queues: the registry's workers load the stewards'
# files from `registry`, enrollment's verify, allocate and export from theirs. A worker started
# without -Q consumes every queue its deployment declares.
CELERY_TASK_QUEUES = tuple(
    Queue(name, Exchange(name), routing_key=name)
    for name, serves in (
        ("default", True),
        ("verification", SERVES_ENROLLMENT),
        ("allocation", SERVES_ENROLLMENT),
        ("exports", SERVES_ENROLLMENT),
        ("registry", SERVES_REGISTRY),
    )
    if serves
)
CELERY_TASK_ROUTES = {
    "enrollment.verify_*": {"queue": "verification"},
    "enrollment.allocation_*": {"queue": "allocation"},
    "enrollment.export_*": {"queue": "exports"},
    "registry.*": {"queue": "registry"},
}
# Every periodic schedule lives here.
NOTIFY_RECONCILE_SECONDS = env.int("NOTIFY_RECONCILE_SECONDS", default=60)
NOTIFY_QUIET_END = env.int("NOTIFY_QUIET_END", default=8)
VERIFICATION_RECONCILE_SECONDS = env.int("VERIFICATION_RECONCILE_SECONDS", default=60)
CELERY_BEAT_SCHEDULE = {
    # Re-enqueues verification jobs whose message was lost (Redis restarted, worker killed
    # between claim and finish). PostgreSQL holds the jobs, so this is all recovery needs.
    "reconcile-verification-jobs": {
        "task": "enrollment.reconcile_verification_jobs",
        "schedule": VERIFICATION_RECONCILE_SECONDS,
    },
    # Sends again the stewards' handed-in files whose message was lost or whose worker died.
    "reconcile-feed-uploads": {
        "task": "registry.reconcile_uploads",
        "schedule": 5 * 60,
    },
    # Puts back messages whose worker died and wakes the senders for every due message
    # (Redis lost the message, a retry or the end of quiet hours came).
    "reconcile-notifications": {
        "task": "enrollment.notifications_reconcile",
        "schedule": NOTIFY_RECONCILE_SECONDS,
    },
    # Writes the offers' reminders (48 h and 12 h before the deadline) and expiries from the
    # deadlines themselves; idempotent, so every five minutes costs one query when idle and a
    # reminder is at most five minutes late.
    "notifications-schedule": {
        "task": "enrollment.notifications_schedule",
        "schedule": 5 * 60,
    },
    # The officers' digest of their review queue, once a day when the office opens.
    "review-digest": {
        "task": "enrollment.review_digest",
        "schedule": crontab(hour=NOTIFY_QUIET_END, minute=0),
    },
    # De-identifies applications whose admission year is past RETENTION_YEARS. Daily is
    # enough: the rule works by calendar year, and a run that finds nothing writes nothing.
    "retention-apply": {
        "task": "enrollment.retention_apply",
        "schedule": 24 * 60 * 60,
    },
}

# Each deployment's beat runs its own app's schedules only.
CELERY_BEAT_SCHEDULE = {
    name: entry
    for name, entry in CELERY_BEAT_SCHEDULE.items()
    if (SERVES_REGISTRY if entry["task"].startswith("registry.") else SERVES_ENROLLMENT)
}

# One cache that every web process shares: Redis (CACHE_URL, by default the broker's Redis
# when there is one), this process's memory otherwise (the demo's one process). It holds the
# API throttles' counts (each gunicorn worker counting alone would allow the whole rate) and a
# copy of the sessions, which stay in PostgreSQL: Django's cached_db store reads a signed-in
# request's session from the cache and writes both. Nothing in it needs a backup.
# django-redis ignores Redis errors (IGNORE_EXCEPTIONS) within half a second, so while Redis
# is away sessions are read from PostgreSQL and the throttles do not count: losing Redis
# costs time, never a signed-in request (Django's own Redis cache would raise instead).
CACHE_URL = env.str(
    "CACHE_URL",
    default=CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else "",
)
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": CACHE_URL,
        "OPTIONS": {
            "IGNORE_EXCEPTIONS": True,
            "SOCKET_CONNECT_TIMEOUT": 0.5,
            "SOCKET_TIMEOUT": 0.5,
        },
    }
    if CACHE_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db"
    if CACHE_URL
    else "django.contrib.sessions.backends.db"
)

# --- Product ------------------------------------------------------------------------------
# Which registry gateway enrollment uses: in-process, or the registry's HTTP API.
REGISTRY_GATEWAY = env.str("REGISTRY_GATEWAY", default="inprocess")
REGISTRY_API_URL = env.str("REGISTRY_API_URL", default="")
REGISTRY_API_KEY = env.str("REGISTRY_API_KEY", default="")
REGISTRY_CLIENT_ID = env.str("REGISTRY_CLIENT_ID", default="edu-440604")
# The HTTP gateway's client (enrollment/gateway.py): seconds to wait for the registry's answer
# (a batch of VERIFICATION_BATCH_SIZE families is well under one), and how many times a 502,
# 503, 504 or a lost connection is tried again, with doubling waits from the first.
REGISTRY_API_TIMEOUT = env.float("REGISTRY_API_TIMEOUT", default=30.0)
REGISTRY_API_RETRIES = env.int("REGISTRY_API_RETRIES", default=3)
REGISTRY_API_BACKOFF = env.float("REGISTRY_API_BACKOFF", default=0.5)
if DEPLOYMENT == "enrollment" and REGISTRY_GATEWAY != "http":
    # Its database holds no registry: an in-process gateway would find nobody.
    raise ImproperlyConfigured(
        "DEPLOYMENT=enrollment reaches the registry with REGISTRY_GATEWAY=http."
    )
if DEPLOYMENT == "registry":
    # The data bureau's own deployment answers others' questions; it asks none.
    REGISTRY_GATEWAY = "inprocess"
# The education bureau's Ed25519 private key (32 bytes, base64) that signs the consent token
# each registry question carries (registry/consent.py); the registry checks the tokens with
# the public half, registered for REGISTRY_CLIENT_ID. The default is published with the
# source, for development and tests only: production refuses it.
DEVELOPMENT_CONSENT_SIGNING_KEY = "c0kVHFxUgvZTR4D5cJusrvS752/ankIUYhkDYWWO0eE="
CONSENT_SIGNING_KEY = env.str("CONSENT_SIGNING_KEY", default=DEVELOPMENT_CONSENT_SIGNING_KEY)
# How long the registry accepts a consent token after it is signed. Tokens are signed for
# each verification batch just before it is sent, so this needs only to cover one batch
# over a slow link and a few minutes' difference between the two deployments' clocks.
CONSENT_TOKEN_SECONDS = env.int("CONSENT_TOKEN_SECONDS", default=15 * 60)
# Real-name identity (enrollment/services/identity.py): a parent binds the account to their
# name and ID number (checked against the hukou register) and a code sent to its phone.
# The backend that sends text messages (enrollment/sms.py): ConsoleBackend prints them (the
# demo shows its codes there), LocmemBackend keeps them for the tests; a carrier's gateway
# is one more class named here.
SMS_BACKEND = env.str("SMS_BACKEND", default="enrollment.sms.ConsoleBackend")
# A carrier's HTTP gateway (enrollment.sms.HttpGatewayBackend): where to post, the bearer
# token, the sender name or signature it shows, and how long to wait for its answer.
SMS_GATEWAY_URL = env.str("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_TOKEN = env.str("SMS_GATEWAY_TOKEN", default="")
SMS_GATEWAY_SENDER = env.str("SMS_GATEWAY_SENDER", default="")
SMS_GATEWAY_TIMEOUT = env.float("SMS_GATEWAY_TIMEOUT", default=5.0)
# E-mail to families and officers: printed in the demo, SMTP in production (EMAIL_HOST…).
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="noreply@enrollment.example")
# Messages to families (enrollment/services/delivery.py): no SMS from NOTIFY_QUIET_START to
# NOTIFY_QUIET_END o'clock local time (held, not dropped; the last reminder of an expiring
# offer excepted), at most NOTIFY_DAILY_CAP a channel a day per family (beyond it the inbox
# alone), NOTIFY_MAX_ATTEMPTS tries a message, the first retry after NOTIFY_RETRY_SECONDS and
# each next one twice as late. A claim takes NOTIFY_BATCH_SIZE messages (200 gateway calls of
# ~100 ms: well inside a task's time limit); a large write wakes NOTIFY_PARALLEL workers. A
# message claimed longer ago than NOTIFY_LEASE_SECONDS lost its worker and is sent again.
NOTIFY_QUIET_START = env.int("NOTIFY_QUIET_START", default=22)
NOTIFY_DAILY_CAP = env.int("NOTIFY_DAILY_CAP", default=5)
NOTIFY_MAX_ATTEMPTS = env.int("NOTIFY_MAX_ATTEMPTS", default=6)
NOTIFY_RETRY_SECONDS = env.int("NOTIFY_RETRY_SECONDS", default=30)
NOTIFY_BATCH_SIZE = env.int("NOTIFY_BATCH_SIZE", default=200)
NOTIFY_PARALLEL = env.int("NOTIFY_PARALLEL", default=4)
NOTIFY_LEASE_SECONDS = env.int("NOTIFY_LEASE_SECONDS", default=10 * 60)
NOTIFY_SIGNAL_SECONDS = env.float("NOTIFY_SIGNAL_SECONDS", default=1.0)
# Registry checks of name and ID number one account may ask in any 24 hours: a refusal says
# only "do not match", and this keeps anyone from trying many names against one number.
IDENTITY_CHECKS_PER_DAY = env.int("IDENTITY_CHECKS_PER_DAY", default=5)
# A code is valid this long, allows this many wrong tries, may be sent again after this many
# seconds, and at most this many times for one check.
IDENTITY_CODE_SECONDS = env.int("IDENTITY_CODE_SECONDS", default=10 * 60)
IDENTITY_CODE_ATTEMPTS = env.int("IDENTITY_CODE_ATTEMPTS", default=5)
IDENTITY_CODE_RESEND_SECONDS = env.int("IDENTITY_CODE_RESEND_SECONDS", default=60)
IDENTITY_CODE_SENDS = env.int("IDENTITY_CODE_SENDS", default=5)
# Attempts at the registry before a verification job goes to manual review.
VERIFICATION_MAX_ATTEMPTS = env.int("VERIFICATION_MAX_ATTEMPTS", default=8)
# 500 applications is about 1,500 people: one registry round trip of a few queries, and a
# task of well under a second, so a lost worker costs little.
VERIFICATION_BATCH_SIZE = env.int("VERIFICATION_BATCH_SIZE", default=500)
# A claimed verification job not finished within this many seconds is handed out again.
VERIFICATION_LEASE_SECONDS = env.int("VERIFICATION_LEASE_SECONDS", default=300)
# An open verification job enqueued longer ago than this is taken to have lost its message
# (Redis restarted) and is enqueued again by the reconciler; a duplicate costs one no-op claim.
VERIFICATION_REQUEUE_SECONDS = env.int("VERIFICATION_REQUEUE_SECONDS", default=120)
# Off on opening day: a submission then sends no message of its own and the reconciler (every
# VERIFICATION_RECONCILE_SECONDS) sends the new jobs in batches of VERIFICATION_BATCH_SIZE,
# which costs the workers a fraction of one-job batches per application.
VERIFICATION_ENQUEUE_ON_SUBMIT = env.bool("VERIFICATION_ENQUEUE_ON_SUBMIT", default=True)
# A web process wakes the workers at most once in this many seconds, however many parents
# submit meanwhile; the worker then verifies them all in one batch (0: a message a job).
VERIFICATION_SIGNAL_SECONDS = env.float("VERIFICATION_SIGNAL_SECONDS", default=1.0)
# A web process keeps the communities, schools and active policies it has read for this many
# seconds (enrollment/services/reference.py): a change made elsewhere reaches it within that.
REFERENCE_CACHE_SECONDS = env.float("REFERENCE_CACHE_SECONDS", default=10.0)
RETENTION_YEARS = env.int("RETENTION_YEARS", default=2)
# The largest department file a data steward may hand in through the portal.
REGISTRY_UPLOAD_MAX_BYTES = env.int("REGISTRY_UPLOAD_MAX_BYTES", default=512 * 1024 * 1024)
EVIDENCE_MAX_BYTES = env.int("EVIDENCE_MAX_BYTES", default=5 * 1024 * 1024)
# Documents a family may upload for one application: enough for every fact twice over, and
# a bound on what one account can put on the disk.
EVIDENCE_MAX_FILES_PER_APPLICATION = env.int("EVIDENCE_MAX_FILES_PER_APPLICATION", default=10)
# Days a family has to answer an offer, and to ask for a re-check (复核) after publication.
OFFER_RESPONSE_DAYS = env.int("OFFER_RESPONSE_DAYS", default=7)
RECHECK_WINDOW_DAYS = env.int("RECHECK_WINDOW_DAYS", default=7)
# Keys the digests by which the registry's audit log finds a person without holding their ID
# number. Kept apart from SECRET_KEY so that rotating that key leaves the log searchable.
AUDIT_DIGEST_KEY = env.str("AUDIT_DIGEST_KEY", default=SECRET_KEY)
# Key every audit entry and anchor line (HMAC-SHA256), as `id:key` pairs oldest first: the last
# writes, the others still check what they wrote. Never in the database, so whoever can rewrite
# the log's tables cannot recompute its hashes. A fixed key outside production.
AUDIT_LOG_KEYS = key_ring(
    "AUDIT_LOG_KEYS", default="dev:insecure-audit-log-key-never-used-in-production"
)
# Where the chain's head is anchored after every append, outside the database: an append-only
# file (docs/operations.md, "The audit log"). One per database here, so that a benchmark's or a
# test's throwaway database never leaves anchors that a developer's own log is checked against.
AUDIT_ANCHOR_PATH = Path(
    env.str(
        "AUDIT_ANCHOR_PATH",
        default=str(
            BASE_DIR / "var" / f"audit-anchor-{Path(DATABASES['default']['NAME']).stem}.log"
        ),
    )
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_id_numbers": {"()": "registry.idnumber.MaskIdNumbersFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["mask_id_numbers"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
