"""Flask extensions, created once and bound to the app in create_app()."""

from typing import TYPE_CHECKING, ClassVar

from flask import request
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, Table
from sqlalchemy.orm import DeclarativeBase

# Named constraints so that migrations can alter them on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def client_address() -> str:
    """The caller's address; ProxyFix has already applied X-Forwarded-For when trusted."""
    return request.remote_addr or "unknown"


db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))

if TYPE_CHECKING:
    # Flask-SQLAlchemy makes db.Model at run time, which a type checker cannot follow; to mypy the
    # models' base is a plain SQLAlchemy 2.0 declarative base, so their Mapped[...] columns type-check.
    class Model(DeclarativeBase):
        """The models' base class, as the type checker sees it."""

        __table__: ClassVar[Table]  # every model maps one table

else:
    Model = db.Model

migrate = Migrate()
login_manager = LoginManager()
mail = Mail()
csrf = CSRFProtect()
limiter = Limiter(client_address)
