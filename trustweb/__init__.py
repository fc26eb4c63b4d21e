"""TrustWeb: trust requests and trust accounting for small law firms."""

from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from trustweb.config import Config, TestConfig
from trustweb.extensions import csrf, db, limiter, login_manager, mail, migrate

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config=None):
    """Build the app; test_config is a dict of overrides (DATABASE_URI required) for tests."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    init_config(app, test_config)
    init_extensions(app)
    init_security(app)
    init_templates(app)
    init_urls(app)
    init_blueprints(app)
    init_errors(app)
    init_cli(app)
    return app


def init_config(app, test_config):
    if test_config is None:
        app.config.from_object(Config(app.instance_path))
    else:
        overrides = dict(test_config)
        app.config.from_object(TestConfig(app.instance_path, overrides.pop("DATABASE_URI")))
        app.config.update(overrides)
    if app.config["HTMX_SOURCE"] not in {"cdn", "local"}:
        raise ValueError("TRUSTWEB_HTMX_SOURCE must be 'cdn' or 'local'")
    if app.config["PROXY_COUNT"]:
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)


def init_extensions(app):
    from trustweb import database, models  # noqa: F401  (SQLite set-up; registers the tables)
    from trustweb.services.sessions import load_session

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    mail.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.session_protection = "strong"

    login_manager.user_loader(load_session)


def init_security(app):
    from trustweb.auth.permissions import check_access
    from trustweb.security import security_headers

    app.before_request(check_access)
    app.after_request(security_headers)


def init_templates(app):
    from trustweb.templating import register

    register(app)


def init_urls(app):
    from trustweb.views import IdConverter

    # Before any route is added: every <int:...> in an address is an id, and one beyond the columns is a 404.
    app.url_map.converters["int"] = IdConverter


def init_blueprints(app):
    from trustweb import (
        audit,
        auth,
        bills,
        contacts,
        main,
        matters,
        methods,
        outbox,
        pay,
        plans,
        portal,
        reconcile,
        reports,
        settings,
        trust,
        webhooks,
    )

    for module in (
        auth,
        main,
        contacts,
        matters,
        bills,
        pay,
        methods,
        plans,
        portal,
        reports,
        reconcile,
        settings,
        trust,
        webhooks,
        outbox,
        audit,
    ):
        app.register_blueprint(module.bp)
    from trustweb.pay import notices

    app.register_blueprint(notices.bp)


def init_errors(app):
    from trustweb.errors import register

    register(app)


def init_cli(app):
    from trustweb.cli import trustweb_cli

    app.cli.add_command(trustweb_cli)
