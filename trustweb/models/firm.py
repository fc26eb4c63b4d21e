"""The firm's own settings and the number sequences it hands out."""

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Integer, String, Text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from trustweb.database import per_transaction
from trustweb.extensions import Model, db

DEFAULTS = {
    "firm_name": "Your Law Firm",
    "timezone": "America/New_York",
    "currency": "USD",
    "require_approval": False,
    "pay_link_days": 60,
    "remind_days_before": 3,
    "remind_overdue_every": 7,
    "reminder_hour": 8,
    "card_fee_basis_points": 290,
    "card_fee_fixed_cents": 30,
    "trust_notice_days": 0,
    "request_due_days": 14,
}


class FirmSettings(Model):
    """One row (id 1) holding the firm's name, contact details and locale."""

    __tablename__ = "firm_settings"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("pay_link_days BETWEEN 1 AND 365", name="pay_link_days"),
        CheckConstraint("card_fee_basis_points BETWEEN 0 AND 2000", name="card_fee_basis_points"),
        CheckConstraint("card_fee_fixed_cents BETWEEN 0 AND 10000", name="card_fee_fixed_cents"),
        CheckConstraint("trust_notice_days BETWEEN 0 AND 60", name="trust_notice_days"),
        CheckConstraint("reminder_hour BETWEEN 0 AND 23", name="reminder_hour"),
        CheckConstraint("request_due_days BETWEEN 0 AND 365", name="request_due_days"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_name: Mapped[str] = mapped_column(String(200), default="Your Law Firm")
    address: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    # Trust requests made by staff wait for a lawyer's approval before they can be sent.
    require_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    pay_link_days: Mapped[int] = mapped_column(Integer, default=60)
    # Reminders: once when a request comes within this many days of its due date (0: never) ...
    remind_days_before: Mapped[int] = mapped_column(Integer, default=3)
    # ... and every this many days while it is overdue (0: never).
    remind_overdue_every: Mapped[int] = mapped_column(Integer, default=7)
    # The hour of the firm's morning (its time zone) at which the worker sends the day's reminders.
    reminder_hour: Mapped[int] = mapped_column(Integer, default=8)
    # What the test processor charges per card payment: 2.9% + 30 cents unless changed.
    card_fee_basis_points: Mapped[int] = mapped_column(Integer, default=290)
    card_fee_fixed_cents: Mapped[int] = mapped_column(Integer, default=30)
    # Days a client is given, after the notice of trust money applied to an invoice, before it moves (0: at once).
    trust_notice_days: Mapped[int] = mapped_column(Integer, default=0)
    # A new trust request is due this many days after the firm's today (its form's default due date).
    request_due_days: Mapped[int] = mapped_column(Integer, default=14)
    # Shown on the pay page for clients who pay by wire or cheque.
    payment_instructions: Mapped[str | None] = mapped_column(Text)

    @classmethod
    def get(cls):
        """The settings row; until an admin first saves them, unsaved defaults (reading never writes).

        Every page, service and template that needs the firm asks here: read once per transaction (asking again
        costs no SELECT), and anew in the next.
        """
        return per_transaction(cls, lambda: db.session.get(cls, 1) or cls(id=1, **DEFAULTS))


class Counter(Model):
    """A named sequence (matters, trust requests, invoices) that never hands out a number twice."""

    __tablename__ = "counter"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_value: Mapped[int] = mapped_column(BigInteger, default=0)

    @classmethod
    def next_value(cls, name):
        """Increment and return the counter inside the caller's transaction.

        One statement: the first number inserts the row, every later one updates it. Either takes the row's lock
        until commit, so concurrent callers queue rather than read the same value; take a counter last.
        """
        statement = _insert(cls).values(name=name, last_value=1)
        statement = statement.on_conflict_do_update(
            index_elements=[cls.name], set_={"last_value": cls.last_value + 1}
        ).returning(cls.last_value)
        return db.session.execute(statement).scalar_one()


def _insert(model):
    """INSERT in the current database's dialect (for its ON CONFLICT clauses)."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def insert_ignore(model):
    """INSERT ... ON CONFLICT DO NOTHING in the current database's dialect."""
    return _insert(model).on_conflict_do_nothing()
