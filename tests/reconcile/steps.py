"""A trust account's October, and its bank statement as the bank would export it."""

from datetime import date

from trustweb.extensions import db
from trustweb.models import BankAccount, User
from trustweb.services.trust import Holder, record_deposit, record_disbursement

CHASE_HEADER = "Details,Posting Date,Description,Amount,Type,Balance,Check or Slip #"


def november(setup):
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
            entry_date=date(2026, 10, 2),
            method="wire",
            payer="Ada Archer",
            user=lawyer,
        ),
        record_deposit(
            account=account,
            holder=ben,
            amount_cents=250_000,
            entry_date=date(2026, 10, 9),
            method="cheque",
            payer="Ben Baker",
            user=lawyer,
        ),
        record_disbursement(
            account=account,
            holder=ada,
            amount_cents=120_000,
            entry_date=date(2026, 10, 12),
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


def ofx(rows, start="20261001", end="20261031", balance="0.00"):
    """An OFX 1.02 (SGML) statement as banks send it."""
    transactions = "".join(
        f"<STMTTRN><TRNTYPE>{'CREDIT' if amount > 0 else ('CHECK' if cheque else 'DEBIT')}<DTPOSTED>{posted}"
        f"<TRNAMT>{amount / 100:.2f}<FITID>{fitid}{f'<CHECKNUM>{cheque}' if cheque else ''}<NAME>{name}</STMTTRN>\n"
        for fitid, posted, name, amount, cheque in rows
    )
    return (
        "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\nCHARSET:1252\n"
        "COMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n<OFX>\n"
        "<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS><DTSERVER>20261201120000"
        "<LANGUAGE>ENG</SONRS></SIGNONMSGSRSV1>\n<BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0"
        "<SEVERITY>INFO</STATUS>\n<STMTRS><CURDEF>USD<BANKACCTFROM><BANKID>121000248<ACCTID>4471"
        f"<ACCTTYPE>CHECKING</BANKACCTFROM>\n<BANKTRANLIST><DTSTART>{start}<DTEND>{end}\n{transactions}"
        f"</BANKTRANLIST>\n<LEDGERBAL><BALAMT>{balance}<DTASOF>{end}</LEDGERBAL>\n"
        "</STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n"
    ).encode()
