"""Settings come from the environment; secrets are never hard-coded."""

import stat

import pytest

from trustweb.config import Config, database_url


def test_defaults_for_a_new_install(tmp_path, monkeypatch):
    for name in ["DATABASE_URL", "SECRET_KEY", "BASE_URL", "HTMX_SOURCE", "RATELIMIT_STORAGE_URL"]:
        monkeypatch.delenv(f"TRUSTWEB_{name}", raising=False)
    config = Config(tmp_path)
    assert f"sqlite:///{tmp_path / 'trustweb.sqlite3'}" == config.SQLALCHEMY_DATABASE_URI
    assert config.HTMX_SOURCE == "cdn"
    assert config.RATELIMIT_STORAGE_URI == "memory://"
    assert config.SESSION_COOKIE_SECURE is False
    assert config.SESSION_COOKIE_HTTPONLY is True and config.SESSION_COOKIE_SAMESITE == "Lax"


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("TRUSTWEB_SECRET_KEY", raising=False)
    first = Config(tmp_path).SECRET_KEY
    assert len(first) >= 40
    assert first == Config(tmp_path).SECRET_KEY
    mode = (tmp_path / "secret_key").stat().st_mode
    assert not mode & (stat.S_IRGRP | stat.S_IROTH)


def test_secret_key_from_the_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("TRUSTWEB_SECRET_KEY", "from-the-environment")
    assert Config(tmp_path).SECRET_KEY == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


def test_https_base_url_makes_cookies_secure(tmp_path, monkeypatch):
    monkeypatch.setenv("TRUSTWEB_BASE_URL", "https://trust.firm.example.com/")
    config = Config(tmp_path)
    assert config.BASE_URL == "https://trust.firm.example.com"
    assert config.SESSION_COOKIE_SECURE is True and config.REMEMBER_COOKIE_SECURE is True


def test_settings_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TRUSTWEB_DATABASE_URL", "postgresql://u@db.internal/trust")
    monkeypatch.setenv("TRUSTWEB_RATELIMIT_STORAGE_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("TRUSTWEB_RATELIMIT_KEY_PREFIX", "trustweb-hartwell")
    monkeypatch.setenv("TRUSTWEB_MAIL_SERVER", "smtp.firm.example.com")
    monkeypatch.setenv("TRUSTWEB_MAIL_PORT", "587")
    monkeypatch.setenv("TRUSTWEB_MAIL_USE_TLS", "true")
    monkeypatch.setenv("TRUSTWEB_HTMX_SOURCE", "local")
    config = Config(tmp_path)
    assert config.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://u@db.internal/trust"
    assert config.RATELIMIT_STORAGE_URI == "redis://127.0.0.1:6379/0"
    assert config.RATELIMIT_KEY_PREFIX == "trustweb-hartwell"
    assert (config.MAIL_SERVER, config.MAIL_PORT, config.MAIL_USE_TLS) == ("smtp.firm.example.com", 587, True)
    assert config.HTMX_SOURCE == "local"


def test_the_upload_cap_is_a_little_above_the_statement_file_limit_and_can_be_set(tmp_path, monkeypatch):
    from trustweb.bankfiles import MAX_BYTES

    monkeypatch.delenv("TRUSTWEB_MAX_UPLOAD_MB", raising=False)
    assert Config(tmp_path).MAX_CONTENT_LENGTH == MAX_BYTES + 2 * 2**20
    monkeypatch.setenv("TRUSTWEB_MAX_UPLOAD_MB", "25")
    assert Config(tmp_path).MAX_CONTENT_LENGTH == 25 * 2**20


def test_database_url_keeps_other_drivers():
    assert database_url("sqlite:///x.db") == "sqlite:///x.db"
    assert database_url("postgres://h/db") == "postgresql+psycopg://h/db"
    assert database_url("postgresql+psycopg://h/db") == "postgresql+psycopg://h/db"


def test_htmx_from_cdn_is_pinned_with_sri(database, monkeypatch):
    from tests.conftest import make_config
    from trustweb import create_app

    uri, options = database
    app = create_app(make_config(uri, options, HTMX_SOURCE="cdn"))
    with app.app_context():
        from trustweb.extensions import db

        db.create_all()
    page = app.test_client().get("/auth/login")
    html = page.get_data(as_text=True)
    assert (
        '<script src="https://cdn.jsdelivr.net/npm/htmx.org@2.0.11/dist/htmx.min.js" '
        'integrity="sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg" '
        'crossorigin="anonymous" defer></script>'
    ) in html
    assert "https://cdn.jsdelivr.net/npm/htmx.org@2.0.11/dist/htmx.min.js" in page.headers["Content-Security-Policy"]
    # Right after it, the fallback to our own copy of the same file, for an intranet without the CDN.
    assert (
        '<script src="/static/js/htmx-fallback.js" data-src="/static/vendor/htmx-2.0.11.min.js" '
        'data-integrity="sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg" defer></script>'
    ) in html


def test_local_htmx_is_the_same_file_as_the_cdn_one(client):
    import base64
    import hashlib

    html = client.get("/auth/login").get_data(as_text=True)
    assert 'src="/static/vendor/htmx-2.0.11.min.js"' in html and "htmx-fallback.js" not in html
    body = client.get("/static/vendor/htmx-2.0.11.min.js").data
    digest = base64.b64encode(hashlib.sha384(body).digest()).decode()
    assert f"sha384-{digest}" in html


def test_unknown_htmx_source_is_refused(database):
    import pytest

    from tests.conftest import make_config
    from trustweb import create_app

    with pytest.raises(ValueError, match="HTMX_SOURCE"):
        create_app(make_config(database[0], database[1], HTMX_SOURCE="elsewhere"))


@pytest.mark.parametrize(
    ("value", "enabled"),
    [(None, True), ("false", False), ("FALSE", False), ("0", False), ("off", False), ("true", True), ("flase", True)],
)
def test_only_a_plain_false_switches_the_flood_limits_off(tmp_path, monkeypatch, value, enabled):
    if value is None:
        monkeypatch.delenv("TRUSTWEB_RATELIMIT_ENABLED", raising=False)
    else:
        monkeypatch.setenv("TRUSTWEB_RATELIMIT_ENABLED", value)
    assert Config(tmp_path).RATELIMIT_ENABLED is enabled


# Limited routes that answer without any data: (method, path, limit per minute, status below the limit).
LIMITED = [
    ("POST", "/auth/login", 60, 422),  # an empty form: refused before any password is checked
    ("GET", "/pay/not-a-real-token", 60, 404),
    ("GET", "/auth/invite/not-a-real-token", 20, 404),
]


@pytest.mark.parametrize("setting", [None, "false"])
@pytest.mark.parametrize(("method", "path", "limit", "status"), LIMITED)
def test_a_load_test_can_see_past_the_flood_limits(database, monkeypatch, setting, method, path, limit, status):
    """By default one address is stopped at the route's limit; with TRUSTWEB_RATELIMIT_ENABLED=false it never is."""
    from tests.conftest import make_config, post
    from trustweb import create_app
    from trustweb.extensions import limiter

    if setting is None:
        monkeypatch.delenv("TRUSTWEB_RATELIMIT_ENABLED", raising=False)
    else:
        monkeypatch.setenv("TRUSTWEB_RATELIMIT_ENABLED", setting)
    try:
        # Not the suite's cached apps: the limiter is one object for every app, switched by the last one built.
        app = create_app(make_config(*database))
        limiter.reset()
        client = app.test_client()
        statuses = [
            (post(client, path) if method == "POST" else client.get(path)).status_code for _ in range(limit + 1)
        ]
        assert statuses == [status] * limit + [429 if setting is None else status]
    finally:
        limiter.enabled = True  # as the cached apps were built
        limiter.reset()
