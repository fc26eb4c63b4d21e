"""Firm settings, the firm's logo and bank accounts."""

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, inspect, select, update

from trustweb.database import per_transaction
from trustweb.extensions import db
from trustweb.images import normalise_logo
from trustweb.models import BankAccount, FirmLogo, FirmSettings, User
from trustweb.models.base import utcnow
from trustweb.payments.keys import encrypt, stripe_keys
from trustweb.refusals import ServiceError
from trustweb.services import audit, jobs

SETTINGS_FIELDS = (
    "firm_name",
    "address",
    "email",
    "phone",
    "timezone",
    "currency",
    "require_approval",
    "pay_link_days",
    "remind_days_before",
    "remind_overdue_every",
    "reminder_hour",
    "card_fee_basis_points",
    "card_fee_fixed_cents",
    "payment_instructions",
    "trust_notice_days",
    "request_due_days",
)
ACCOUNT_FIELDS = ("name", "kind", "is_iolta", "bank_name", "account_last4", "currency")


def update_settings(values: Mapping[str, Any]) -> FirmSettings:
    settings = FirmSettings.get()  # the one every later read in this transaction gets, saved or not
    if inspect(settings).transient:  # the defaults: the first save adds the row
        db.session.add(settings)
        before = None
    else:
        before = audit.snapshot(settings, SETTINGS_FIELDS)
    for field in SETTINGS_FIELDS:
        setattr(settings, field, values.get(field))
    audit.record("settings.updated", settings, before=before, after=audit.snapshot(settings, SETTINGS_FIELDS))
    if before is None or (before["reminder_hour"], before["timezone"]) != (settings.reminder_hour, settings.timezone):
        db.session.flush()
        jobs.reschedule_reminders()
    db.session.commit()
    return settings


def save_logo(data: bytes, user: User | None = None) -> FirmLogo:
    """Make the uploaded image the firm's logo, checked and remade first (images.normalise_logo refuses a bad one)."""
    image = normalise_logo(data)
    logo, before = _locked_logo()
    if logo is None:
        logo = FirmLogo(id=1)
        db.session.add(logo)
    logo.content_type, logo.data, logo.width, logo.height = image.content_type, image.data, image.width, image.height
    logo.sha256, logo.updated_at = image.sha256, utcnow()
    after = _logo_facts(logo, len(image.data))
    audit.record("settings.logo_changed", logo, before=before, after=after, user=user)
    db.session.commit()
    return logo


def remove_logo(user: User | None = None) -> None:
    """The portal shows the firm's name alone again."""
    logo, before = _locked_logo()
    if logo is None:
        raise ServiceError("The firm has no logo to remove.")
    db.session.delete(logo)
    audit.record("settings.logo_changed", object_type="FirmLogo", object_id=1, before=before, after=None, user=user)
    db.session.commit()


def _locked_logo() -> tuple[FirmLogo | None, dict[str, Any] | None]:
    """The logo's row locked (two admins uploading at once take turns) and what the audit trail says of it."""
    found = db.session.execute(
        select(FirmLogo, func.length(FirmLogo.data)).where(FirmLogo.id == 1).with_for_update()
    ).one_or_none()
    if found is None:
        return None, None
    logo, size = found
    return logo, _logo_facts(logo, size)


def _logo_facts(logo: FirmLogo, size: int) -> dict[str, Any]:
    """What the audit trail keeps of a logo: never its bytes."""
    return {
        "sha256": logo.sha256,
        "content_type": logo.content_type,
        "bytes": size,
        "pixels": f"{logo.width}×{logo.height}",
    }


def save_account(account: BankAccount | None, values: Mapping[str, Any]) -> BankAccount:
    """Create (account None) or update a bank account."""
    name_taken = db.session.scalar(
        select(BankAccount.id).where(
            func.lower(BankAccount.name) == values["name"].lower(), BankAccount.id != (account.id if account else 0)
        )
    )
    if name_taken:
        raise ServiceError("Another account already has this name.")
    if account is not None and account.kind != values["kind"]:
        raise ServiceError("An account's kind cannot change once it exists; add a new account instead.")
    if values["kind"] != "trust":
        values = {**values, "is_iolta": False}
    before = None if account is None else audit.snapshot(account, ACCOUNT_FIELDS)
    touched = {values["currency"]} if before is None else {values["currency"], before["currency"]}
    if account is None:
        account = BankAccount(active=True, is_default=False)
        db.session.add(account)
    for field in ACCOUNT_FIELDS:
        setattr(account, field, values.get(field))
    db.session.flush()
    _require_operating(touched)
    if account.is_default is False and default_account(account.kind) is None:
        account.is_default = True  # the first account of a kind is its default
    audit.record(
        "bank_account.created" if before is None else "bank_account.updated",
        account,
        before=before,
        after=audit.snapshot(account, (*ACCOUNT_FIELDS, "is_default")),
    )
    db.session.commit()
    return account


def currency_of(account: BankAccount | None) -> str:
    """The currency an amount is written in: its bank account's, or the firm's where it has none yet (a draft
    invoice is owed to no account)."""
    return account.currency if account is not None else FirmSettings.get().currency


def operating_for(currency: str) -> BankAccount | None:
    """The operating account that earns and pays in this currency (card fees, money moved from trust): the default
    operating account when it is in this currency, else the first open one in it; None when there is none (asked
    once per transaction)."""
    return per_transaction(
        ("operating account", currency),
        lambda: db.session.scalar(
            select(BankAccount)
            .where(BankAccount.kind == "operating", BankAccount.active, BankAccount.currency == currency)
            .order_by(BankAccount.is_default.desc(), BankAccount.id)
            .limit(1)
        ),
    )


def _require_operating(currencies: set[str]) -> None:
    """Refuse a set-up where an open trust account's currency has no open operating account: its card fees
    would have nowhere to go but another currency's books. A firm with no operating account yet is still
    being set up (card payments wait for one, as they always have)."""
    rows = db.session.execute(
        select(BankAccount.kind, BankAccount.currency, BankAccount.name).where(BankAccount.active)
    ).all()
    operating = {row.currency for row in rows if row.kind == "operating"}
    if not operating:
        return
    for row in rows:
        if row.kind == "trust" and row.currency in currencies and row.currency not in operating:
            raise ServiceError(
                f"{row.name} is in {row.currency} and the firm has no open operating account in {row.currency}: "
                f"add one first (the card fees of {row.currency} payments are booked there, never in another "
                "currency)."
            )


def default_account(kind: str) -> BankAccount | None:
    """The default account of this kind (asked once per transaction)."""
    return per_transaction(
        ("default account", kind),
        lambda: db.session.scalar(select(BankAccount).where(BankAccount.kind == kind, BankAccount.is_default)),
    )


def make_default(account: BankAccount) -> BankAccount:
    if not account.active:
        raise ServiceError("A closed account cannot be the default.")
    db.session.execute(
        update(BankAccount).where(BankAccount.kind == account.kind, BankAccount.is_default).values(is_default=False)
    )
    account.is_default = True
    audit.record("bank_account.made_default", account, after={"is_default": True})
    db.session.commit()
    return account


def set_account_active(account: BankAccount, active: bool) -> BankAccount:
    if not active and account.is_default:
        raise ServiceError("Make another account the default before closing this one.")
    account.active = active
    db.session.flush()
    _require_operating({account.currency})
    audit.record("bank_account.reopened" if active else "bank_account.closed", account, after={"active": active})
    db.session.commit()
    return account


def save_processor(account: BankAccount, values: Mapping[str, Any], user: User | None = None) -> BankAccount:
    """Choose the account's processor and save its Stripe keys encrypted (the audit trail never sees a key)."""
    before = {
        "processor": account.processor,
        "fee_mode": account.fee_mode,
        "ach_hold_days": account.ach_hold_days,
        "key_saved": bool(account.stripe_secret_key_enc),
        "webhook_secret_saved": bool(account.stripe_webhook_secret_enc),
    }
    if values["forget_keys"]:
        account.stripe_secret_key_enc = account.stripe_webhook_secret_enc = None
    if values["secret_key"]:
        account.stripe_secret_key_enc = encrypt(values["secret_key"])
    if values["webhook_secret"]:
        account.stripe_webhook_secret_enc = encrypt(values["webhook_secret"])
    account.processor, account.fee_mode, account.ach_hold_days = (
        values["processor"],
        values["fee_mode"],
        values["ach_hold_days"],
    )
    _require_operating({account.currency})
    if account.processor == "stripe":
        keys = stripe_keys(account)
        if not keys.secret_key:
            raise ServiceError("Enter the Stripe secret key (or set it in the environment) to use Stripe.")
        if not keys.webhook_secret:
            raise ServiceError("Enter the webhook signing secret: without it no payment is ever confirmed.")
    after = {
        "processor": account.processor,
        "fee_mode": account.fee_mode,
        "ach_hold_days": account.ach_hold_days,
        "key_saved": bool(account.stripe_secret_key_enc),
        "webhook_secret_saved": bool(account.stripe_webhook_secret_enc),
    }
    audit.record("account.processor_saved", account, before=before, after=after, user=user)
    db.session.commit()
    return account
