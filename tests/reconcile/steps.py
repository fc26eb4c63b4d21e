"""A trust account's month, and its bank statement as the bank would export it.

The month is the one before last, counted from the firm's today: it and the month after it have both ended, so a
test can reconcile either and sign it off on any day it runs.
"""

from tests import dates
from trustweb.extensions import db
from trustweb.models import BankAccount, User
from trustweb.services.trust import Holder, record_deposit, record_disbursement

CHASE_HEADER = "Details,Posting Date,Description,Amount,Type,Balance,Check or Slip #"
MONTHS_BACK = 2


def day(n):
    """Day n (1 to 28) of the books' month."""
    return dates.month_day(MONTHS_BACK, n)


def last_day():
    """The books' month's last day: its statement's end."""
    return dates.month_end(MONTHS_BACK)


def next_month(n):
    """Day n (1 to 28) of the month after the books' month (it has ended too)."""
    return dates.month_day(MONTHS_BACK - 1, n)


def compact(day):
    """20261002: how OFX writes a day."""
    return day.strftime("%Y%m%d")


def clean_month():
    """The bank's lines for the books' month, each a day after the firm booked it: (posted, text, cents, cheque)."""
    return [
        (dates.us(day(3)), "WIRE FROM ADA ARCHER", 500_000, None),
        (dates.us(day(10)), "DEPOSIT", 250_000, None),
        (dates.us(day(16)), "CHECK 1001", -120_000, "1001"),
    ]


def book_month(setup):
    """Ada's retainer, Ben's retainer, a cheque to the county; returns the entries."""
    account = db.session.get(BankAccount, setup.account)
    lawyer = db.session.get(User, setup.lawyer)
    ada = Holder(setup.client_a, setup.matter_a1)
    ben = Holder(setup.client_b, setup.matter_b1)
    return [
        record_deposit(
            account=account,
            holder=ada,
            amount_cents=500_000,
            entry_date=day(2),
            method="wire",
            payer="Ada Archer",
            user=lawyer,
        ),
        record_deposit(
            account=account,
            holder=ben,
            amount_cents=250_000,
            entry_date=day(9),
            method="cheque",
            payer="Ben Baker",
            user=lawyer,
        ),
        record_disbursement(
            account=account,
            holder=ada,
            amount_cents=120_000,
            entry_date=day(12),
            payee="Travis County Clerk",
            description="Recording fees",
            method="cheque",
            cheque_number="1001",
            user=lawyer,
        ),
    ]


def chase_csv(rows, balance_after=None):
    """A Chase-style CSV export: (posted MM/DD/YYYY, description, signed amount, cheque number)."""
    out = [CHASE_HEADER]
    balance = 0
    for posted, description, amount, cheque in rows:
        balance += amount
        kind = "CHECK_PAID" if cheque else ("ACH_CREDIT" if amount > 0 else "ACH_DEBIT")
        details = "CREDIT" if amount > 0 else ("CHECK" if cheque else "DEBIT")
        out.append(f'{details},{posted},"{description}",{amount / 100:.2f},{kind},{balance / 100:.2f},{cheque or ""}')
    return ("\n".join(out) + "\n").encode()


def ofx(rows, start=None, end=None, balance="0.00"):
    """An OFX 1.02 (SGML) statement as banks send it; the books' month unless start and end (as OFX days) say."""
    start, end = start or compact(day(1)), end or compact(last_day())
    transactions = "".join(
        f"<STMTTRN><TRNTYPE>{'CREDIT' if amount > 0 else ('CHECK' if cheque else 'DEBIT')}<DTPOSTED>{posted}"
        f"<TRNAMT>{amount / 100:.2f}<FITID>{fitid}{f'<CHECKNUM>{cheque}' if cheque else ''}<NAME>{name}</STMTTRN>\n"
        for fitid, posted, name, amount, cheque in rows
    )
    return (
        "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\nCHARSET:1252\n"
        "COMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n<OFX>\n"
        f"<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS><DTSERVER>{compact(dates.today())}120000"
        "<LANGUAGE>ENG</SONRS></SIGNONMSGSRSV1>\n<BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0"
        "<SEVERITY>INFO</STATUS>\n<STMTRS><CURDEF>USD<BANKACCTFROM><BANKID>121000248<ACCTID>4471"
        f"<ACCTTYPE>CHECKING</BANKACCTFROM>\n<BANKTRANLIST><DTSTART>{start}<DTEND>{end}\n{transactions}"
        f"</BANKTRANLIST>\n<LEDGERBAL><BALAMT>{balance}<DTASOF>{end}</LEDGERBAL>\n"
        "</STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n"
    ).encode()
