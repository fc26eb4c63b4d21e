"""Settings read from the environment (TRUSTWEB_*), with a configuration for tests."""

import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

from trustweb.bankfiles import MAX_BYTES

HTMX_VERSION = "2.0.11"
HTMX_CDN_URL = f"https://cdn.jsdelivr.net/npm/htmx.org@{HTMX_VERSION}/dist/htmx.min.js"
HTMX_SRI = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"


def env(name, default=None):
    """Return the TRUSTWEB_<name> environment variable, or the default."""
    return os.environ.get(f"TRUSTWEB_{name}", default)


def env_bool(name, default=False):
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_url(url):
    """Point plain postgres URLs at psycopg 3, the driver we ship."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def secret_key(instance_path):
    """The key from the environment, or one generated once and kept in instance/."""
    key = env("SECRET_KEY")
    if key:
        return key
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole to a private file, then linked into place: two workers starting
        # together agree on one key, and neither can read a half-written file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_text().strip()


class Config:
    """Production defaults; every value can be set from the environment."""

    def __init__(self, instance_path, key=None):
        default_db = "sqlite:///" + str(Path(instance_path) / "trustweb.sqlite3")
        self.SECRET_KEY = key or secret_key(instance_path)
        self.SQLALCHEMY_DATABASE_URI = database_url(env("DATABASE_URL", default_db))
        self.BASE_URL = env("BASE_URL", "http://127.0.0.1:8000").rstrip("/")
        self.HTMX_SOURCE = env("HTMX_SOURCE", "cdn")
        self.RATELIMIT_STORAGE_URI = env("RATELIMIT_STORAGE_URL", "memory://")
        # Only a load test turns the per-address limits off, and only with a plain "false": anything else, a typo
        # included, keeps them on. Always set, because Flask-Limiter otherwise keeps the last app's choice.
        self.RATELIMIT_ENABLED = env("RATELIMIT_ENABLED", "true").strip().lower() not in {"false", "0", "no", "off"}
        # Before every counter's key: installs (or test runs) sharing one Redis keep their counts apart.
        self.RATELIMIT_KEY_PREFIX = env("RATELIMIT_KEY_PREFIX", "")
        self.RATELIMIT_HEADERS_ENABLED = True
        # If Redis is unreachable, limit per process rather than fail every request.
        self.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
        self.PROXY_COUNT = int(env("PROXY_COUNT", "0"))
        # The most a request may send, checked before its body is read: a statement file (at most MAX_BYTES) and
        # its form's fields fit under it.
        self.MAX_CONTENT_LENGTH = int(env("MAX_UPLOAD_MB", str(MAX_BYTES // 2**20 + 2))) * 2**20

        # No server, no sending: the worker keeps every email in the outbox, where the Outbox page shows it.
        self.MAIL_SERVER = env("MAIL_SERVER")
        self.MAIL_PORT = int(env("MAIL_PORT", "25"))
        self.MAIL_USERNAME = env("MAIL_USERNAME")
        self.MAIL_PASSWORD = env("MAIL_PASSWORD")
        self.MAIL_USE_TLS = env_bool("MAIL_USE_TLS")
        self.MAIL_USE_SSL = env_bool("MAIL_USE_SSL")
        self.MAIL_DEFAULT_SENDER = env("MAIL_FROM", "trustweb@localhost")
        self.MAIL_TIMEOUT = float(env("MAIL_TIMEOUT", "15"))
        # Tries before an email is given up (with backoff between them: the 10th comes about 28 hours after the 1st).
        self.MAIL_MAX_ATTEMPTS = int(env("MAIL_MAX_ATTEMPTS", "10"))
        # How often the worker looks for emails to send (seconds).
        self.WORKER_POLL_SECONDS = float(env("WORKER_POLL_SECONDS", "2"))

        secure = self.BASE_URL.startswith("https://")
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = secure
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_SECURE = secure
        self.REMEMBER_COOKIE_DURATION = timedelta(days=int(env("REMEMBER_DAYS", "30")))
        # A session not kept with "keep me signed in" ends after this long, browser open or not.
        self.SESSION_LIFETIME = timedelta(hours=int(env("SESSION_HOURS", "12")))
        self.PREFERRED_URL_SCHEME = "https" if secure else "http"
        self.WTF_CSRF_TIME_LIMIT = None  # valid for the session; a long form must not expire
        self.INVITE_DAYS = int(env("INVITE_DAYS", "7"))
        # A client's portal session ends after this long without a page, and after PORTAL_SESSION_HOURS whatever.
        self.PORTAL_IDLE_TIMEOUT = timedelta(minutes=int(env("PORTAL_IDLE_MINUTES", "30")))
        self.PORTAL_SESSION_LIFETIME = timedelta(hours=int(env("PORTAL_SESSION_HOURS", "12")))
        # A portal invitation's link, sent by staff, works once within this long (a link asked for: 15 minutes).
        self.PORTAL_INVITE_LIFETIME = timedelta(hours=int(env("PORTAL_INVITE_HOURS", "24")))
        # Argon2id costs for passwords: the library's defaults (RFC 9106's low-memory profile).
        self.ARGON2 = {}
        # Stripe keys by the kind of account the money goes to; set here, they win over keys saved in the app.
        self.STRIPE_KEYS = {
            kind: {
                "secret_key": env(f"STRIPE_{kind.upper()}_SECRET_KEY"),
                "webhook_secret": env(f"STRIPE_{kind.upper()}_WEBHOOK_SECRET"),
            }
            for kind in ("trust", "operating")
        }
        # Only for tests and staging: where the Stripe API answers (None is Stripe itself).
        self.STRIPE_API_BASE = env("STRIPE_API_BASE")
        self.PAGE_SIZE = 25


class TestConfig(Config):
    """Used by the test suite: a throwaway database, no real mail, local htmx."""

    def __init__(self, instance_path, database_uri):
        super().__init__(instance_path, key=secrets.token_hex(32))
        self.TESTING = True
        self.SQLALCHEMY_DATABASE_URI = database_url(database_uri)
        self.HTMX_SOURCE = "local"
        self.RATELIMIT_STORAGE_URI = "memory://"
        self.MAIL_SUPPRESS_SEND = True
        # Slow hashing guards real passwords; in tests it would only slow the suite (production's is tested once).
        self.ARGON2 = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}
