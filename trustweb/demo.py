"""A believable small firm for trying TrustWeb out: users, contacts, matters, accounts."""

import random
from datetime import timedelta

from sqlalchemy import func, select

from trustweb.extensions import db
from trustweb.models import BankAccount, Contact, FirmSettings, Matter, MatterStatus, User
from trustweb.models.invoices import OPEN_INVOICE
from trustweb.models.requests import OUTSTANDING
from trustweb.refusals import ServiceError
from trustweb.services.clients import next_matter_number
from trustweb.services.sessions import password_hasher
from trustweb.services.trust import firm_today

# Demo logins are printed by the command; this data is for evaluation, never production. The password passes
# the rules every new password must (trustweb/passwords.py; tests/auth/test_password_rules.py checks it).
DEMO_PASSWORD = "amber-harbor-lantern"
DEMO_DOMAIN = "hartwell-law.example.com"
DEMO_USERS = [
    (f"admin@{DEMO_DOMAIN}", "Alex Morgan", "admin"),
    (f"ehartwell@{DEMO_DOMAIN}", "Eleanor Hartwell", "lawyer"),
    (f"dokafor@{DEMO_DOMAIN}", "Daniel Okafor", "lawyer"),
    (f"books@{DEMO_DOMAIN}", "Priya Raman", "bookkeeper"),
    (f"paralegal@{DEMO_DOMAIN}", "Sam Whitaker", "staff"),
]
FIRST = [
    "James",
    "Maria",
    "Robert",
    "Linda",
    "Michael",
    "Patricia",
    "David",
    "Jennifer",
    "Thomas",
    "Susan",
    "Carlos",
    "Aisha",
    "Wei",
    "Fatima",
    "Noah",
    "Olivia",
    "Lucas",
    "Grace",
    "Hannah",
    "Ethan",
]
LAST = [
    "Alvarez",
    "Bennett",
    "Chen",
    "Dubois",
    "Edwards",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ibrahim",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Murphy",
    "Nakamura",
    "O'Brien",
    "Patel",
    "Quinn",
    "Rossi",
    "Schmidt",
    "Turner",
]
COMPANIES = [
    "Bayside Dental Group LLC",
    "Cedar Ridge Builders Inc.",
    "Northwind Logistics LLC",
    "Harbor Light Bakery",
    "Summit Peak Software Inc.",
    "Greenfield Farms Co-op",
    "Redwood Property Management",
    "Blue Heron Consulting LLC",
]
STREETS = ["Maple Ave", "Oak St", "Elm Rd", "Harbor Blvd", "Main St", "Pine Ct", "Lakeview Dr", "Market St"]
CITIES = [
    "Springfield, IL 62701",
    "Portland, OR 97205",
    "Austin, TX 78701",
    "Raleigh, NC 27601",
    "Madison, WI 53703",
    "Boise, ID 83702",
]
MATTERS = [
    ("Estate planning", "Estate plan and will"),
    ("Real estate", "Purchase of residence"),
    ("Family", "Divorce proceedings"),
    ("Litigation", "Contract dispute"),
    ("Corporate", "Business formation"),
    ("Employment", "Wrongful termination claim"),
    ("Immigration", "Family visa petition"),
    ("Probate", "Administration of estate"),
    ("Personal injury", "Motor vehicle accident"),
    ("Real estate", "Commercial lease review"),
]


def demo_present():
    return db.session.scalar(select(User.id).where(User.email == DEMO_USERS[0][0])) is not None


def database_is_empty():
    return not (
        db.session.scalar(select(func.count()).select_from(User))
        or db.session.scalar(select(func.count()).select_from(Contact))
    )


def load_demo(seed=2026):
    """Create the demo firm; False when it is already there. Refuses a database with other data."""
    if demo_present():
        return False
    if not database_is_empty():
        raise ServiceError("This database already holds real data; demo data only goes into an empty one.")
    rng = random.Random(seed)
    settings = FirmSettings.get()
    db.session.add(settings)
    settings.firm_name = "Hartwell & Okafor LLP"
    settings.address = "400 Market St, Suite 1200\nSpringfield, IL 62701"
    settings.email = f"office@{DEMO_DOMAIN}"
    settings.phone = "(217) 555-0140"
    settings.timezone = "America/Chicago"
    settings.currency = "USD"

    # One hash for all demo users: hashing is deliberately slow.
    password_hash = password_hasher().hash(DEMO_PASSWORD)
    users = [User(email=e, name=n, role=r, password_hash=password_hash) for e, n, r in DEMO_USERS]
    db.session.add_all(users)
    db.session.add_all(
        [
            BankAccount(
                name="IOLTA Trust",
                kind="trust",
                is_iolta=True,
                bank_name="First Community Bank",
                account_last4="4471",
                currency="USD",
                is_default=True,
            ),
            BankAccount(
                name="Operating",
                kind="operating",
                is_iolta=False,
                bank_name="First Community Bank",
                account_last4="9023",
                currency="USD",
                is_default=True,
            ),
        ]
    )
    taken: set[str] = set()
    contacts = [_demo_contact(rng, i, taken) for i in range(30)]
    db.session.add_all(contacts)
    db.session.flush()

    lawyers = [u for u in users if u.role == "lawyer"]
    today = firm_today()  # the firm's history ends today, whenever the demo is loaded
    for i in range(40):
        area, description = MATTERS[i % len(MATTERS)]
        client = contacts[i % len(contacts)] if i < 30 else rng.choice(contacts)
        opened = today - timedelta(days=rng.randint(5, 700))
        matter = Matter(
            number=next_matter_number(opened),
            description=f"{description} – {_short_name(client)}",
            client=client,
            lawyer=lawyers[i % len(lawyers)],
            practice_area=area,
            opened_on=opened,
            status=MatterStatus.CLOSED if i % 9 == 8 else MatterStatus.OPEN,
            closed_on=opened + timedelta(days=90) if i % 9 == 8 else None,
        )
        if i % 5 == 0:
            matter.evergreen_minimum_cents = 200_000
            matter.evergreen_target_cents = 500_000
        db.session.add(matter)
        db.session.flush()  # keeps the counter and the numbers in step
    db.session.commit()
    _demo_ledger(rng, users)
    _demo_requests(users)
    _demo_invoices()
    _demo_portal()
    return True


def _demo_portal():
    """The client of the open request is invited to the portal (the invitation waits in the Outbox)."""
    from trustweb.models import TrustRequest
    from trustweb.services import portal

    trust_request = db.session.scalar(select(TrustRequest).where(TrustRequest.message == DEMO_OPEN_REQUEST))
    if trust_request is not None:
        portal.invite(trust_request.contact, trust_request.created_by)


def demo_portal_link():
    """(client, a fresh one-time sign-in link) for the demo client with portal access, or None."""
    from trustweb.models import Contact, PortalAccess
    from trustweb.services import portal

    contact = db.session.scalar(
        select(Contact)
        .join(PortalAccess, PortalAccess.contact_id == Contact.id)
        .where(PortalAccess.revoked_at.is_(None))
        .order_by(PortalAccess.id)
    )
    return (contact, portal.printed_link(contact)) if contact is not None else None


DEMO_OPEN_REQUEST = "Retainer for the next stage of the matter."


def _demo_requests(users):
    """Trust requests in every status, made through the same services a person would use."""
    from trustweb.services import payments, requests
    from trustweb.services.templates import default_template

    today = firm_today()
    account = db.session.scalar(select(BankAccount).where(BankAccount.kind == "trust", BankAccount.is_default))
    staff = next(u for u in users if u.role == "staff")
    bookkeeper = next(u for u in users if u.role == "bookkeeper")
    for kind in ("request", "reminder"):
        default_template(kind)
    db.session.commit()
    matters = db.session.scalars(select(Matter).where(Matter.status == MatterStatus.OPEN).order_by(Matter.id)).all()

    def ask(matter, amount_cents, *, issued_days_ago, due_in_days, message, by=None, partial=False):
        return requests.create_request(
            {
                "contact": matter.client,
                "matter": matter,
                "account": account,
                "template": None,
                "amount_cents": amount_cents,
                "issued_on": today - timedelta(days=issued_days_ago),
                "due_on": today + timedelta(days=due_in_days),
                "message": message,
                "allow_partial": partial,
                "minimum_cents": None,
                "recipients": matter.client.emails[:1],
                "cc": [],
            },
            by or matter.lawyer,
        )

    def link_of(trust_request, user):
        requests.copy_link(trust_request, user)  # "sent", with a live link, without queueing demo email
        return trust_request

    ask(matters[1], 250_000, issued_days_ago=0, due_in_days=14, message="Initial retainer.", by=staff)
    open_request = ask(matters[2], 500_000, issued_days_ago=2, due_in_days=12, message=DEMO_OPEN_REQUEST, partial=True)
    link_of(open_request, open_request.created_by)
    viewed = ask(matters[3], 150_000, issued_days_ago=6, due_in_days=8, message="Top-up for expert fees.")
    requests.mark_viewed(link_of(viewed, viewed.created_by).id)
    overdue = ask(matters[4], 300_000, issued_days_ago=40, due_in_days=-10, message="Evergreen top-up.")
    link_of(overdue, overdue.created_by)
    partly = ask(matters[5], 400_000, issued_days_ago=15, due_in_days=5, message="Retainer.", partial=True)
    link_of(partly, partly.created_by)
    payments.record_manual_payment(
        partly,
        amount_cents=150_000,
        method="wire",
        received_on=today - timedelta(days=3),
        reference="WIRE 20931",
        payer=partly.contact.name,
        cleared=True,
        idempotency_key="demo-partial-payment-000001",
        user=bookkeeper,
    )
    paid = ask(matters[6], 200_000, issued_days_ago=25, due_in_days=-5, message="Retainer.")
    link_of(paid, paid.created_by)
    payments.record_manual_payment(
        paid,
        amount_cents=200_000,
        method="cheque",
        received_on=today - timedelta(days=12),
        reference="Cheque 4417",
        payer=paid.contact.name,
        cleared=True,
        idempotency_key="demo-full-payment-0000001",
        user=bookkeeper,
    )
    void = ask(matters[7], 100_000, issued_days_ago=9, due_in_days=20, message="Retainer.")
    link_of(void, void.created_by)
    requests.void_request(void, "Sent to the wrong client; reissued.", void.created_by)


DEMO_OPEN_INVOICE = "Thank you for your instructions. Payment is due within 30 days."


def _demo_invoices():
    """Invoices: one paid partly from trust, one sent and open (its link printed), one draft."""
    from trustweb.models import LedgerAccount
    from trustweb.services import invoice_trust, invoices
    from trustweb.services.trust import Holder

    def held(matter):
        key = Holder(matter.client_id, matter.id).key(account.id)
        ledger = db.session.scalar(select(LedgerAccount).where(LedgerAccount.key == key))
        return ledger.available_cents if ledger is not None else 0

    today = firm_today()
    account = db.session.scalar(select(BankAccount).where(BankAccount.kind == "trust", BankAccount.is_default))
    matters = db.session.scalars(select(Matter).where(Matter.status == MatterStatus.OPEN).order_by(Matter.id)).all()
    funded = next(m for m in matters[8:] if held(m) >= 100_000)

    def bill(matter, lines, notes=None):
        return invoices.create_invoice(
            {
                "matter": matter,
                "issued_on": today,
                "due_on": today + timedelta(days=30),
                "notes": notes,
                "lines": [
                    {
                        "line_date": today - timedelta(days=days),
                        "description": text,
                        "kind": kind,
                        "quantity_hundredths": qty,
                        "rate_cents": rate,
                    }
                    for days, text, kind, qty, rate in lines
                ],
            },
            matter.lawyer,
        )

    paid_from_trust = bill(
        funded,
        [
            (12, "Review of the file and first meeting", "fee", 250, 30_000),
            (5, "Court filing fee", "expense", 100, 35_000),
        ],
    )
    invoices.send_invoice(paid_from_trust, funded.lawyer)
    invoice_trust.apply_trust(
        paid_from_trust,
        min(paid_from_trust.due_cents, invoice_trust.available_for(paid_from_trust, account)),
        account=account,
        from_client_funds=False,
        idempotency_key="demo-apply-trust-000000001",
        user=funded.lawyer,
    )
    open_invoice = bill(
        matters[2],
        [(20, "Drafting the purchase agreement", "fee", 400, 27_500), (18, "Title search", "expense", 100, 42_000)],
        notes=DEMO_OPEN_INVOICE,
    )
    invoices.send_invoice(open_invoice, matters[2].lawyer)
    bill(matters[3], [(2, "Telephone conference with opposing counsel", "fee", 50, 30_000)])


def demo_pay_links():
    """Fresh pay links for the demo's open request and open invoice, so a newcomer can pay as the client:
    [(the request or invoice, its URL)], leaving out any no longer open."""
    from trustweb.models import Invoice, TrustRequest
    from trustweb.services import requests

    found = []
    trust_request = db.session.scalar(
        select(TrustRequest)
        .where(TrustRequest.message == DEMO_OPEN_REQUEST, TrustRequest.status.in_(OUTSTANDING))
        .order_by(TrustRequest.id)
    )
    if trust_request is not None:
        found.append((trust_request, requests.copy_link(trust_request, trust_request.created_by)))
    invoice = db.session.scalar(
        select(Invoice).where(Invoice.notes == DEMO_OPEN_INVOICE, Invoice.status.in_(OPEN_INVOICE))
    )
    if invoice is not None:
        url = requests.new_link(invoice, invoice.created_by)
        db.session.commit()
        found.append((invoice, url))
    return found


def _demo_ledger(rng, users):
    """Four months of trust activity through the same services staff use, posted in date order."""
    from trustweb.services import trust

    account = db.session.scalar(select(BankAccount).where(BankAccount.kind == "trust", BankAccount.is_default))
    bookkeeper = next(u for u in users if u.role == "bookkeeper")
    today = trust.firm_today()
    start = today - timedelta(days=120)
    plan, done = [], {}

    def at(day, name, action, **kwargs):
        plan.append((day, len(plan), name, action, kwargs))

    at(
        start,
        "firm",
        trust.record_deposit,
        account=account,
        holder=trust.FIRM,
        amount_cents=50_000,
        method="ach",
        payer="Hartwell & Okafor LLP (operating)",
        description="Firm funds to cover bank charges",
        user=bookkeeper,
    )
    matters = db.session.scalars(select(Matter).where(Matter.status == MatterStatus.OPEN).order_by(Matter.id)).all()
    cheques = iter(range(1001, 2000))
    payees = ["Clerk of the Circuit Court", "County Recorder", "Metro Process Servers", "Lakeside Court Reporting"]
    purposes = ["Filing fee", "Recording fee", "Service of process", "Deposition transcript"]
    for n, matter in enumerate(matters[:24]):
        holder = trust.holder_for(matter.client, matter)
        day = start + timedelta(days=1 + n * 4)
        retainer = rng.choice([150_000, 250_000, 300_000, 500_000, 750_000, 1_000_000])
        at(
            day,
            None,
            trust.record_deposit,
            account=account,
            holder=holder,
            amount_cents=retainer,
            method=rng.choice(["cheque", "wire", "ach"]),
            payer=matter.client.name,
            reference=f"Retainer {matter.number}",
            description="Initial retainer",
            user=bookkeeper,
        )
        for _ in range(rng.randint(1, 3)):
            day = min(today, day + timedelta(days=rng.randint(3, 12)))
            amount = rng.choice([4_500, 12_000, 35_000, 40_250, 75_000]) * retainer // 1_000_000 or 4_500
            at(
                day,
                None,
                trust.record_disbursement,
                account=account,
                holder=holder,
                amount_cents=amount,
                payee=rng.choice(payees),
                description=rng.choice(purposes),
                cheque_number=str(next(cheques)),
                user=matter.lawyer,
            )
        if n % 6 == 3:
            day = min(today, day + timedelta(days=2))
            at(
                day,
                f"mistake{n}",
                trust.record_disbursement,
                account=account,
                holder=holder,
                amount_cents=retainer // 10,
                payee="Clerk of the Circuit Court",
                description="Filing fee",
                cheque_number=str(next(cheques)),
                user=matter.lawyer,
            )
            at(
                day,
                None,
                lambda key=f"mistake{n}", **kw: trust.reverse(done[key], **kw),
                reason="Cheque written for the wrong amount; voided",
                user=matter.lawyer,
            )
    # Fresh money still clearing, and a client's funds moved to the matter they were meant for.
    for matter in matters[24:28]:
        at(
            today - timedelta(days=1),
            None,
            trust.record_deposit,
            account=account,
            holder=trust.holder_for(matter.client, matter),
            amount_cents=200_000,
            method="cheque",
            payer=matter.client.name,
            reference="Retainer",
            cleared=False,
            description="Retainer (cheque clearing)",
            user=bookkeeper,
        )
    client = matters[0].client
    at(
        today - timedelta(days=20),
        None,
        trust.record_deposit,
        account=account,
        holder=trust.holder_for(client),
        amount_cents=100_000,
        method="wire",
        payer=client.name,
        description="Funds received before the matter was opened",
        user=bookkeeper,
    )
    at(
        today - timedelta(days=19),
        None,
        trust.transfer,
        account=account,
        source=trust.holder_for(client),
        destination=trust.holder_for(client, matters[0]),
        amount_cents=100_000,
        reason="Client funds applied to the matter",
        user=matters[0].lawyer,
    )
    at(
        today - timedelta(days=5),
        None,
        trust.record_disbursement,
        account=account,
        holder=trust.FIRM,
        amount_cents=1_500,
        payee="First Community Bank",
        description="Monthly account fee",
        method="other",
        user=bookkeeper,
    )
    for day, _, name, action, kwargs in sorted(plan, key=lambda step: step[:2]):
        result = action(entry_date=day, **kwargs)
        if name:
            done[name] = result


def _short_name(contact):
    words = contact.name.split()
    return words[0] if contact.kind == "company" else words[-1]


def _demo_contact(rng, i, taken):
    """The i-th demo contact, its name not one of `taken` (and added to it): each client told apart by name."""
    address = f"{rng.randint(10, 9999)} {rng.choice(STREETS)}\n{rng.choice(CITIES)}"
    phone = f"({rng.randint(201, 989)}) 555-{rng.randint(100, 199):04d}"
    if i % 6 == 5:
        name = COMPANIES[(i // 6) % len(COMPANIES)]
        slug = "".join(ch for ch in name.lower().split()[0] if ch.isalpha())
        return Contact(kind="company", name=name, email=f"accounts@{slug}.example.com", phone=phone, address=address)
    first = FIRST[i % len(FIRST)]
    # Contact i + 20 would repeat contact i's name (7 * 20 is a whole turn of LAST): the next surname not yet taken.
    surnames = (LAST[(i * 7 + step) % len(LAST)] for step in range(len(LAST)))
    last = next(last for last in surnames if f"{first} {last}" not in taken)
    taken.add(f"{first} {last}")
    slug = f"{first}.{last}".lower().replace("'", "")
    return Contact(kind="person", name=f"{first} {last}", email=f"{slug}@example.com", phone=phone, address=address)
