"""How TrustWeb talks to SQLite: WAL, foreign keys, and writers that queue instead of failing.

pysqlite's own transaction handling starts a transaction only at the first
write, so a read-check-write (a balance, the last administrator) could read a
value another writer is about to change. We switch it off and begin every
transaction ourselves: a request that may write (any method but GET/HEAD/
OPTIONS, and every command) begins with BEGIN IMMEDIATE and so holds the
write lock from its first read; other writers wait (busy_timeout) and then see
its result. Readers are never blocked in WAL mode.

A GET reads in a plain BEGIN and takes no write lock. The rare GET that must
write (a pay link's first view) ends its read transaction first and writes in
a short transaction of its own (write_transaction()): a read transaction is
never upgraded to a write, which SQLite refuses at once ("database is locked",
no waiting) when another writer committed since it began.

The rare writer that must read much (Verify the chain reads every event) reads
in a plain read transaction of its own (read_transaction()), so other writers
are not held at the door for the length of the read, and then writes briefly.
"""

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar, cast

from flask import g, has_request_context, request
from sqlalchemy import CursorResult, Update, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from trustweb.extensions import db

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_reading: ContextVar[bool] = ContextVar("reading", default=False)


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection, connection_record):
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE" if may_write() else "BEGIN")


def may_write():
    """True unless this is a request that only reads (or a GET's own write_transaction()), or a read_transaction()."""
    if _reading.get():
        return False
    if not has_request_context() or request.method not in READ_METHODS:
        return True
    return g.get("write_transaction", False)


@contextmanager
def write_transaction() -> Iterator[None]:
    """A write inside a GET, in a transaction of its own (BEGIN IMMEDIATE on SQLite), committed at the end.

    The GET's read transaction ends first (rolled back: it has nothing to keep, and its objects are read again
    when next used), so the write never upgrades it.
    """
    db.session.rollback()
    g.write_transaction = True
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    finally:
        g.write_transaction = False


@contextmanager
def read_transaction() -> Iterator[None]:
    """A long read inside a request or command that writes, in a plain read transaction of its own (BEGIN on
    SQLite: no write lock, other writers go on), ended at the end. The transaction before it is committed first;
    nothing may be written inside (SQLite would refuse to upgrade the read at once when another writer committed)."""
    db.session.commit()
    token = _reading.set(True)
    try:
        yield
    finally:
        db.session.rollback()  # a read has nothing to keep
        _reading.reset(token)


def rows_updated(statement: Update) -> int:
    """Run an UPDATE in the session; the number of rows it changed (the session types its result without one)."""
    return cast(CursorResult[Any], db.session.execute(statement)).rowcount


T = TypeVar("T")
_MEMO = "per_transaction"


def per_transaction(key: Any, compute: Callable[[], T]) -> T:
    """compute(), once per database transaction: what a transaction has locked, or read under a lock it holds,
    stays true until it ends (and is forgotten then, commit or rollback)."""
    memo = db.session.info.setdefault(_MEMO, {})
    if key not in memo:
        memo[key] = compute()
    return cast(T, memo[key])


def take_per_transaction(session: Session, key: Any) -> Any:
    """What per_transaction() keeps under key, removed (None when nothing is kept)."""
    return session.info.get(_MEMO, {}).pop(key, None)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_MEMO, None)
