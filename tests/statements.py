"""The SQL statements a piece of code runs, for the tests that count them so that lazy loads and repeats cannot
creep back into a hot path."""

import traceback
from contextlib import contextmanager

from sqlalchemy import event

from trustweb.extensions import db


@contextmanager
def statements(app):
    """The SQL statements run meanwhile (BEGINs too), each with the three innermost frames of our code that ran it:
    "SELECT ...  @ file:line:function < ..."."""
    seen = []

    def note(conn, cursor, statement, parameters, context, executemany):
        frames = [f for f in traceback.extract_stack() if "/trustweb/" in f.filename]
        where = " < ".join(f"{f.filename.split('/')[-1]}:{f.lineno}:{f.name}" for f in reversed(frames[-3:]))
        seen.append(f"{' '.join(statement.split())}  @ {where}")

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)
