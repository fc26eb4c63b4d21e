"""Database triggers that keep each ledger's stored balance in step with its journal lines.

A ledger's balance_cents is what its lines add up to (in the ledger's natural
sign). The database itself moves it: inserting a journal line adds the line to
its ledger's balance (journal_line_moves_balance), after checking that the
line's running balance is the ledger's balance plus the line. Any other change
of balance_cents (a raw UPDATE, a new ledger opened with money in it) is
refused, so the maintained balance cannot drift from the journal behind the
application's back:

- PostgreSQL: ledger_account_balance_guard lets balance_cents change only from
  inside another trigger (pg_trigger_depth() > 1), which is the line's.
- SQLite has no trigger depth; there the new balance must equal the running
  balance of the ledger's newest line, which the line's trigger has just checked.

The services compute the new balances (the rules need them before anything is
written), write them on the lines, and leave balance_cents to the trigger: the
trigger updates rows the service already holds locked, so no lock is added and
the lock order is unchanged. The same SQL is in migration 0011; tests check both.
"""

from sqlalchemy import event, text

from trustweb.extensions import db
from trustweb.ledger.rules import NORMAL_SIGN

REFUSED = "a ledger's balance follows from the journal: book an entry to change it"
BAD_LINE = (
    "a journal line's running balance must be its ledger's balance plus the line: the balance follows from the journal"
)


def _quoted(message):
    """A message as an SQL string literal."""
    return "'" + message.replace("'", "''") + "'"


# Ledger kinds whose balance a debit lowers (liabilities, income): a line's amount counts negative for them.
_CREDIT_KINDS = ", ".join(f"'{kind}'" for kind, sign in sorted(NORMAL_SIGN.items()) if sign < 0)
# The line's effect on its ledger's balance, natural sign; `ledger` is the line's ledger_account row.
_NATURAL = f"CASE WHEN ledger.kind IN ({_CREDIT_KINDS}) THEN -NEW.amount_cents ELSE NEW.amount_cents END"

# Built from this module's constants only, never from input (hence the noqa S608 below).
SQLITE_TRIGGERS = [
    "CREATE TRIGGER journal_line_moves_balance AFTER INSERT ON journal_line BEGIN "  # noqa: S608
    f"SELECT RAISE(ABORT, {_quoted(BAD_LINE)}) FROM ledger_account ledger WHERE ledger.id = NEW.ledger_account_id "
    f"AND ledger.balance_cents + {_NATURAL} IS NOT NEW.balance_after_cents; "
    "UPDATE ledger_account SET balance_cents = NEW.balance_after_cents WHERE id = NEW.ledger_account_id; END",
    # The newest line's running balance is the ledger's balance: the only value it may change to.
    "CREATE TRIGGER ledger_account_balance_guard BEFORE UPDATE OF balance_cents ON ledger_account "  # noqa: S608
    "WHEN NEW.balance_cents IS NOT OLD.balance_cents AND NEW.balance_cents IS NOT "
    "(SELECT balance_after_cents FROM journal_line WHERE ledger_account_id = NEW.id ORDER BY id DESC LIMIT 1) "
    f"BEGIN SELECT RAISE(ABORT, {_quoted(REFUSED)}); END",
    "CREATE TRIGGER ledger_account_opens_at_zero BEFORE INSERT ON ledger_account WHEN NEW.balance_cents != 0 "
    f"BEGIN SELECT RAISE(ABORT, {_quoted(REFUSED)}); END",
]
PG_STATEMENTS = [
    f"""
CREATE OR REPLACE FUNCTION trustweb_line_moves_balance() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    balance bigint;
BEGIN
    UPDATE ledger_account ledger SET balance_cents = balance_cents + {_NATURAL}
     WHERE ledger.id = NEW.ledger_account_id
    RETURNING balance_cents INTO balance;
    IF balance IS DISTINCT FROM NEW.balance_after_cents THEN
        RAISE EXCEPTION {_quoted(BAD_LINE)};
    END IF;
    RETURN NULL;
END
$$
""",  # noqa: S608
    f"""
CREATE OR REPLACE FUNCTION trustweb_balance_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Depth 1 is this trigger: the statement came from outside; deeper, from journal_line_moves_balance.
    IF pg_trigger_depth() > 1 THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.balance_cents = 0 THEN
            RETURN NEW;
        END IF;
    ELSIF NEW.balance_cents = OLD.balance_cents THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION {_quoted(REFUSED)};
END
$$
""",
    "CREATE TRIGGER journal_line_moves_balance AFTER INSERT ON journal_line "
    "FOR EACH ROW EXECUTE FUNCTION trustweb_line_moves_balance()",
    "CREATE TRIGGER ledger_account_balance_guard BEFORE INSERT OR UPDATE OF balance_cents ON ledger_account "
    "FOR EACH ROW EXECUTE FUNCTION trustweb_balance_guard()",
]
TRIGGER_NAMES = {
    "sqlite": ("journal_line_moves_balance", "ledger_account_balance_guard", "ledger_account_opens_at_zero"),
    "postgresql": ("journal_line_moves_balance", "ledger_account_balance_guard"),
}


def balance_statements(dialect):
    if dialect == "sqlite":
        return SQLITE_TRIGGERS
    if dialect == "postgresql":
        return PG_STATEMENTS
    raise RuntimeError(f"no balance triggers for {dialect}")


def _create_balance_triggers(metadata, connection, **kw):
    created = {table.name for table in (kw["tables"] if "tables" in kw else metadata.tables.values())}
    if not {"ledger_account", "journal_line"} <= created:
        return
    for statement in balance_statements(connection.dialect.name):
        connection.execute(text(statement))


def register():
    """After create_all() made every table (the line's trigger updates ledger_account)."""
    event.listen(db.metadata, "after_create", _create_balance_triggers)
