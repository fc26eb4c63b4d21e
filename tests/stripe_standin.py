"""A local stand-in for the parts of the Stripe API that TrustWeb calls, for tests.

The stand-in is a real HTTP server on loopback (``http.server.ThreadingHTTPServer`` in a daemon
thread, an ephemeral port on 127.0.0.1), so tests drive the *real* ``stripe`` library at it::

    with StandIn() as standin:
        client = stripe.StripeClient(TEST_API_KEY, base_addresses={"api": standin.url})
        session = client.v1.checkout.sessions.create(params={...})
        standin.complete(session.id)                       # the customer pays by card
        body, header = standin.signed(standin.checkout_session_completed(session.id), WEBHOOK_SECRET)
        response = app_client.post("/stripe/webhook", data=body, headers={"Stripe-Signature": header})

Only the standard library runs the server; ``stripe`` is imported solely for the API version that
events carry (``stripe.api_version``, the version the installed library pins).

What is emulated (checked against stripe-python 16.1.0 and Stripe's documented behaviour)
------------------------------------------------------------------------------------------
Wire format
    * Form-encoded request bodies (POST) and query strings (GET) with bracketed nested keys, exactly as
      stripe-python writes them: ``line_items[0][price_data][unit_amount]=1000``, ``metadata[matter]=7``,
      ``expand[0]=payment_intent`` (``expand[]=...`` is accepted too). They are decoded into nested
      dicts/lists; ``metadata`` keys stay a dict even when they look like numbers.
    * ``Authorization: Bearer sk_test_...`` (HTTP Basic with the key as user name is accepted too). A
      missing or non-test key gets 401 ``{"error": {"type": "invalid_request_error", ...}}``, which the
      library raises as ``stripe.AuthenticationError``. ``StandIn(api_key=...)`` accepts only that key.
    * ``Idempotency-Key`` on POSTs: a replay with the same key and the same parameters returns the stored
      response byte for byte (with ``Idempotent-Replayed: true``) and does nothing again; the same key
      with different parameters or another endpoint gets 400 ``idempotency_error``
      (``stripe.IdempotencyError``). Like Stripe, only requests that executed are stored (here: 2xx
      responses); keys are scoped to the API key and never expire.
    * Responses are JSON objects with ``object`` fields so the library builds its typed objects
      (``checkout.Session``, ``PaymentIntent``, ``Charge``, ...), with ``Request-Id`` and
      ``Stripe-Version`` headers. Errors use Stripe's shape and status codes: 400 ``invalid_request_error``
      (``stripe.InvalidRequestError``; codes ``parameter_missing``, ``parameter_unknown``,
      ``amount_too_large``, ``charge_already_refunded``, ...), 404 ``resource_missing``, 401 for keys.
    * ``expand`` on every endpoint, to any depth (``payment_intent.latest_charge.balance_transaction``),
      with Stripe's error for a property that cannot be expanded. ``line_items`` on a session and
      ``refunds`` on a charge are expandable lists, as in current API versions (not included by default).
    * Every request (API and checkout page) is recorded in ``standin.requests`` for assertions.
    * A lost answer (``lose_answers()``): the request is executed (and kept for idempotent replay) as Stripe would,
      but the connection is closed with no response, as when a reply times out on its way back; the library
      raises ``stripe.APIConnectionError`` (after its own retry, which meets the same fate when ``times`` allows).

Endpoints
    * ``POST /v1/checkout/sessions`` (mode=payment with ``price_data`` line items only, or mode=setup with
      ``customer``, ``currency`` and ``setup_intent_data[metadata]``) and ``GET /v1/checkout/sessions/{id}``,
      ``POST /v1/checkout/sessions/{id}/expire``.
    * ``POST /v1/customers``, ``GET /v1/customers/{id}``; ``GET /v1/setup_intents/{id}``;
      ``GET /v1/payment_methods/{id}``, ``POST /v1/payment_methods/{id}/detach`` (a method not attached is
      refused with ``payment_method_unexpected_state``, as Stripe does).
    * ``POST /v1/payment_intents`` for a saved method off session only (``customer``, ``payment_method``,
      ``off_session=true``, ``confirm=true``, ``amount``, ``currency``, ``metadata``, ``description``): a card
      ``succeeded`` at once (charge and balance transaction with the card fee), a bank account ``processing``
      until ``settle_intent()``; a card saved as 4000000000000341 is declined (402 ``card_error``
      ``card_declined``, a failed charge), one saved as 4000002760003184 wants authentication (402
      ``card_error`` ``authentication_required`` with the PaymentIntent, ``requires_payment_method``, in the
      error). A detached method, or one of another customer, is refused. Declines (402) are kept for
      idempotent replay like successes, as Stripe keeps every executed request's result.
    * ``POST /v1/refunds``, ``GET /v1/refunds`` (filters ``charge``, ``payment_intent``, ``limit``),
      ``GET /v1/refunds/{id}``.
    * ``GET`` of ``/v1/payment_intents/{id}``, ``/v1/charges/{id}``, ``/v1/balance_transactions/{id}``,
      ``/v1/disputes/{id}`` and ``/v1/events/{id}`` (every event built here can be fetched back, so a
      webhook handler that re-fetches the event works).
    Unknown top-level parameters are refused ("Received unknown parameter: ..."), as Stripe does.

Object life cycle (driven from the test with plain methods, or by the HTML checkout page)
    * A session starts ``status="open"``, ``payment_status="unpaid"``, ``payment_intent=None``,
      ``url`` pointing at the stand-in's page ``/pay/{id}``.
    * ``complete(id)`` creates the PaymentIntent, Charge and (card) balance transaction. Card: session
      ``complete``/``paid``, PI ``succeeded``, charge ``succeeded``. ACH (``us_bank_account``): session
      ``complete``/``unpaid``, PI ``processing``, charge ``pending`` with no balance transaction yet;
      ``settle_ach(id, succeeded=...)`` then pays it (balance transaction appears) or fails it (PI
      ``requires_payment_method``, charge ``failed``). Once complete, ``session.url`` is null, as on Stripe.
    * Fees follow Stripe's standard US pricing in integer cents, rounded half up: card 2.9% + 30c, ACH
      0.8% capped at $5.00 (``card_fee()``, ``ach_fee()``), unless ``fee_cents`` is given.
    * Settlement currency: by default a charge's balance transaction is in the charge's currency. After
      ``settle_in("usd", rate)`` it is in that currency whenever the charge is in another (an account without a
      bank account in the charge's currency, as Stripe converts then): ``amount`` and ``fee`` are the charge's
      amount and fee times ``rate`` (rounded half up), ``exchange_rate`` is ``rate``, and the charge keeps its
      own ``currency``. ``settle_in(None)`` goes back to the default.
    * Refunds reduce what is left on the charge (``amount_refunded``, ``refunded``); refunds on ACH
      payments are ``pending``, card refunds ``succeeded``. A disputed charge cannot be refunded.
    * ``dispute()``/``close_dispute()`` create and close disputes with their balance transactions.
    * Setup mode: ``complete(id, method=..., card_number=...)`` (or the stand-in's page, which has a card
      number field) creates the SetupIntent (``succeeded``, ``usage=off_session``, the session's
      ``setup_intent_data`` metadata) and a PaymentMethod attached to the session's customer (one is created
      when the session has none). The card number only picks brand, last four and the behaviour of later
      charges (``SAVED_CARDS``); 4000000000000002 is declined at setup. Expiry is always 12/2034. A bank
      account is STRIPE TEST BANK ending 6789. Sessions in setup mode have ``payment_status``
      ``no_payment_required`` and no amounts; ``setup_intent`` is null until completed (current API versions).

Webhooks
    ``event(type, obj)`` builds an event exactly as Stripe delivers it, shortcuts build the usual ones
    from the current state of an object (``checkout_session_completed`` also for setup mode,
    ``setup_intent_succeeded``, ``payment_intent_succeeded``, ``payment_intent_payment_failed``, the last
    two also for an off-session PaymentIntent refused before any charge), and ``signed(event, secret)``
    returns the raw body and a ``Stripe-Signature`` header (``t=<unix>,v1=<hex HMAC-SHA256 of
    "<t>.<body>">``) that the real ``stripe.Webhook.construct_event`` accepts. The stand-in never delivers
    webhooks by itself.

What is NOT emulated
    Customer updates, deletion and lists; PaymentMethods created or attached by API; SetupIntents created by API,
    and any that needs 3-D Secure at setup; PaymentIntents other than off-session confirm-at-once (on-session,
    manual capture, ``requires_action`` and ``next_action``); mandates' contents; card expiry other than 12/2034;
    Prices/Products by id (``line_items[][price]``), subscription mode, embedded UI,
    payment methods other than card and us_bank_account, currencies' decimal rules (amounts are shown
    with two decimals), automatic tax, discounts, Connect, pagination beyond ``limit``, search, the
    24-hour idempotency window, session expiry by time, rate limits, API-version-dependent shapes, and
    automatic webhook delivery. Validation is deliberately partial: the stand-in refuses what it does not
    understand rather than guessing, so a refusal may be the stand-in's limit rather than Stripe's.

Note: Stripe keeps ``success_url`` as given (the literal ``{CHECKOUT_SESSION_ID}`` placeholder stays in
the session object); it substitutes the id only when it redirects the customer. The stand-in does the
same: the checkout page's redirect (and ``success_redirect_url()``) carry the real id.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import html
import json
import re
import secrets
import string
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import stripe

TEST_API_KEY = "sk_test_standin_4eC39HqLyjWDarjtT1zdp7dc"
WEBHOOK_SECRET = "whsec_standin_test_secret"
PLACEHOLDER = "{CHECKOUT_SESSION_ID}"
CARD = "card"
ACH = "us_bank_account"
PAYMENT_METHODS = (CARD, ACH)
DAY = 86_400

__all__ = [
    "ACH",
    "CARD",
    "PLACEHOLDER",
    "TEST_API_KEY",
    "WEBHOOK_SECRET",
    "RecordedRequest",
    "StandIn",
    "ach_fee",
    "card_fee",
    "decode_params",
    "sign_payload",
]


# Cards saved through a setup session whose later off-session charges behave as Stripe's test cards do, and the
# ones whose setup itself is declined.
SAVED_CARDS = {"4000000000000341": "decline", "4000002760003184": "authenticate"}
SETUP_DECLINES = {"4000000000000002", "4000000000009995"}
CARD_BRANDS = {"4": "visa", "5": "mastercard", "2": "mastercard", "3": "amex", "6": "discover"}
_CHARGE_DETAIL_KEYS = {"brand", "last4", "exp_month", "exp_year", "country", "funding", "bank_name", "routing_number"}


def card_fee(amount: int) -> int:
    """Stripe's standard US card fee in cents: 2.9% + 30c, the percentage rounded half up."""
    return (amount * 29 + 500) // 1000 + 30


def ach_fee(amount: int) -> int:
    """Stripe's standard ACH Direct Debit fee in cents: 0.8% rounded half up, capped at $5.00."""
    return min((amount * 8 + 500) // 1000, 500)


def sign_payload(payload: bytes | str, secret: str, timestamp: int) -> str:
    """The ``Stripe-Signature`` header for a raw body: ``t=<ts>,v1=<HMAC-SHA256(secret, "<ts>.<body>")>``."""
    body = payload.decode("utf-8") if isinstance(payload, bytes | bytearray) else payload
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


_ALNUM = string.ascii_letters + string.digits


def _new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))


def _money(amount: int, currency: str) -> str:
    """``$1,234.56`` for USD (as Stripe's messages write it), ``1,234.56 EUR`` otherwise."""
    sign = "-" if amount < 0 else ""
    number = f"{abs(amount) // 100:,}.{abs(amount) % 100:02d}"
    return f"{sign}${number}" if currency.lower() == "usd" else f"{sign}{number} {currency.upper()}"


# --------------------------------------------------------------------------- form decoding


_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
_DICT_ONLY = {"metadata"}  # hashes whose keys may look like list indexes


def decode_params(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Turn form pairs with bracketed keys into nested dicts and lists, as Stripe's API reads them."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if not match:
            raise _ApiError(400, f"Invalid parameter name: {key}", param=key)
        path = [match.group(1), *_SEGMENT.findall(match.group(2))]
        node = root
        for depth, segment in enumerate(path):
            if segment == "":
                segment = str(len(node))
            last = depth == len(path) - 1
            if last:
                node[segment] = value
            else:
                child = node.setdefault(segment, {})
                if not isinstance(child, dict):
                    raise _ApiError(400, f"Invalid hash for parameter {key}", param=key)
                node = child
    return _listify(root, "")


def _listify(node: Any, name: str) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value, key) for key, value in node.items()}
    if name not in _DICT_ONLY and converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


# --------------------------------------------------------------------------- errors and records


class _ApiError(Exception):
    """An error answered in Stripe's shape: ``{"error": {"type", "message", "code", "param"}}``."""

    def __init__(self, status, message, *, type="invalid_request_error", code=None, param=None, extra=None):
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"type": type, "message": message}
        if code:
            self.body["code"] = code
            self.body["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
        if param:
            self.body["param"] = param
        self.body.update(extra or {})


def _card_error(pi: dict, pm: dict, code: str, decline_code: str, message: str, charge: str | None = None):
    """A 402 ``card_error`` refusing an off-session payment: the PaymentIntent, left ``requires_payment_method``
    with the error as its ``last_payment_error``, is in the error as Stripe puts it there."""
    charged = {"charge": charge} if charge else {}
    error = {
        **charged,
        "code": code,
        "decline_code": decline_code,
        "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
        "message": message,
        "payment_method": copy.deepcopy(pm),
        "type": "card_error",
    }
    pi.update(status="requires_payment_method", last_payment_error=error)
    extra = {**charged, "decline_code": decline_code, "payment_intent": copy.deepcopy(pi), "payment_method": pm}
    return _ApiError(402, message, type="card_error", code=code, extra=copy.deepcopy(extra))


def _missing(param: str) -> _ApiError:
    return _ApiError(400, f"Missing required param: {param}.", code="parameter_missing", param=param)


def _unknown(param: str) -> _ApiError:
    return _ApiError(400, f"Received unknown parameter: {param}", code="parameter_unknown", param=param)


def _no_such(kind: str, object_id: str, param: str = "id") -> _ApiError:
    return _ApiError(404, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


@dataclass
class RecordedRequest:
    """One request the stand-in received. ``params`` is decoded (nested); ``pairs`` is the raw form."""

    method: str
    path: str
    params: dict[str, Any]
    pairs: list[tuple[str, str]]
    headers: dict[str, str]
    body: str = ""
    status: int = 0
    replayed: bool = False
    lost: bool = False  # executed, but its answer never sent (lose_answers)
    response: Any = field(default=None, repr=False)

    def header(self, name: str) -> str | None:
        """A request header, looked up case-insensitively."""
        lowered = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == lowered), None)

    @property
    def idempotency_key(self) -> str | None:
        return self.header("Idempotency-Key")


# Which properties of which object may be expanded (a subset of Stripe's lists; the rest is refused).
_EXPANDABLE = {
    "checkout.session": {"payment_intent", "line_items", "customer", "setup_intent"},
    "payment_intent": {"latest_charge", "customer", "payment_method"},
    "setup_intent": {"customer", "payment_method"},
    "payment_method": {"customer"},
    "charge": {"balance_transaction", "payment_intent", "refunds", "customer"},
    "refund": {"balance_transaction", "charge", "payment_intent"},
    "dispute": {"charge", "payment_intent"},
    "balance_transaction": {"source"},
}
# Top-level parameters accepted (and stored; only those read below have any effect). Anything else is
# refused with Stripe's "Received unknown parameter" error, which catches typos in the app's calls, and
# parameters the pinned API version no longer has (payment_method_types went in 2026-09-30.endive).
# fmt: off
_SESSION_PARAMS = {
    "adaptive_pricing", "after_expiration", "allow_promotion_codes", "allowed_payment_method_types", "automatic_tax",
    "billing_address_collection",
    "branding_settings", "cancel_url", "client_reference_id", "consent_collection", "currency", "custom_fields",
    "custom_text", "customer", "customer_creation", "customer_email", "customer_update", "discounts",
    "excluded_payment_method_types", "expand", "expires_at", "invoice_creation", "line_items", "locale", "metadata",
    "mode", "name_collection", "optional_items", "payment_intent_data", "payment_method_collection",
    "payment_method_configuration", "payment_method_options", "phone_number_collection",
    "redirect_on_completion", "return_url", "saved_payment_method_options", "shipping_address_collection",
    "setup_intent_data", "shipping_options", "submit_type", "success_url", "tax_id_collection", "ui_mode",
    "wallet_options",
}
_CUSTOMER_PARAMS = {
    "address", "description", "email", "expand", "invoice_prefix", "invoice_settings", "metadata", "name", "phone",
    "preferred_locales", "shipping", "tax_exempt",
}
_INTENT_PARAMS = {
    "amount", "automatic_payment_methods", "capture_method", "confirm", "currency", "customer", "description",
    "error_on_requires_action", "expand", "mandate", "mandate_data", "metadata", "off_session", "payment_method",
    "payment_method_options", "payment_method_types", "receipt_email", "return_url", "setup_future_usage",
    "statement_descriptor", "statement_descriptor_suffix",
}
_REFUND_PARAMS = {
    "amount", "charge", "currency", "customer", "expand", "instructions_email", "metadata", "origin",
    "payment_intent", "reason", "refund_application_fee", "reverse_transfer",
}
# fmt: on
_REFUND_REASONS = {"duplicate", "fraudulent", "requested_by_customer"}


def _int_param(params: dict, name: str, *, minimum: int = 0) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    if not isinstance(raw, str) or not re.fullmatch(r"-?\d+", raw):
        raise _ApiError(400, f"Invalid integer: {raw}", param=name)
    value = int(raw)
    if value < minimum:
        raise _ApiError(400, f"This value must be greater than or equal to {minimum}.", param=name)
    return value


def _metadata(params: dict, name: str = "metadata") -> dict[str, str]:
    value = params.get(name) or {}
    if not isinstance(value, dict):
        raise _ApiError(400, f"Invalid object: {name} must be a hash", param=name)
    return {key: item for key, item in value.items() if item != ""}


# --------------------------------------------------------------------------- the stand-in


class StandIn:
    """A Stripe API stand-in on ``http://127.0.0.1:<port>``; see the module docstring.

    ``api_key``: accept only this secret key (default: any ``sk_test_`` key).
    ``clock``: returns the current unix time (float); ``created`` fields and event times use it.
    """

    def __init__(self, *, api_key: str | None = None, clock: Callable[[], float] = time.time, host="127.0.0.1"):
        self.api_key = api_key
        self.clock = clock
        self.host = host
        self.requests: list[RecordedRequest] = []
        self.errors: list[str] = []  # tracebacks of stand-in bugs (answered with 500)
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> StandIn:
        """Start serving (idempotent); returns self."""
        if self._server is None:
            server = ThreadingHTTPServer((self.host, 0), _Handler)
            server.daemon_threads = True
            server.standin = self  # type: ignore[attr-defined]
            self._server = server
            self._thread = threading.Thread(
                target=server.serve_forever, args=(0.05,), name="stripe-standin", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port (idempotent)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base address, e.g. ``http://127.0.0.1:54321`` (pass as ``base_addresses={"api": url}``)."""
        if self._server is None:
            raise RuntimeError("the Stripe stand-in is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def reset(self) -> None:
        """Forget every object, event, idempotency key, queued failure and recorded request."""
        with self._lock:
            self._objects: dict[str, dict[str, Any]] = {}
            self._line_items: dict[str, list[dict[str, Any]]] = {}
            self._refunds_of: dict[str, list[str]] = {}
            self._pending_fee: dict[str, int] = {}
            self._pi_metadata: dict[str, dict[str, str]] = {}
            self._behaviour: dict[str, str] = {}  # payment method id -> "ok", "decline" or "authenticate"
            self._idempotent: dict[tuple[str, str], tuple[str, str, dict, int, bytes]] = {}
            self._failures: list[dict[str, Any]] = []
            self._lost: list[dict[str, Any]] = []
            self._settlement: tuple[str, float] | None = None  # (currency, rate) from settle_in()
            self.requests.clear()
            self.errors.clear()

    def client(self, api_key: str = TEST_API_KEY, **options) -> stripe.StripeClient:
        """A real ``stripe.StripeClient`` pointed at this stand-in (no network retries unless asked)."""
        options.setdefault("max_network_retries", 0)
        return stripe.StripeClient(api_key, base_addresses={"api": self.url}, **options)

    # ------------------------------------------------------------------ inspection

    def calls(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """Recorded requests, optionally only those with this method and/or exact path."""
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method.upper()) and (path is None or r.path == path)
            ]

    def get(self, object_id: str) -> dict[str, Any]:
        """A copy of any stored object (session, payment intent, charge, refund, dispute, txn, event)."""
        with self._lock:
            return copy.deepcopy(self._find(object_id))

    def session(self, session_id: str) -> dict[str, Any]:
        return self._typed(session_id, "checkout.session")

    def payment_intent(self, payment_intent_id: str) -> dict[str, Any]:
        return self._typed(payment_intent_id, "payment_intent")

    def charge(self, object_id: str) -> dict[str, Any]:
        """The charge for a charge, payment intent or checkout session id."""
        with self._lock:
            return copy.deepcopy(self._charge_of(object_id))

    def sessions(self) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(o) for o in self._objects.values() if o["object"] == "checkout.session"]

    def success_redirect_url(self, session_id: str) -> str | None:
        """Where Stripe sends the customer after paying: success_url with the placeholder replaced."""
        url = self.session(session_id)["success_url"]
        return url.replace(PLACEHOLDER, session_id) if url else None

    # ------------------------------------------------------------------ test-side controls

    def fail_next(
        self,
        path: str,
        *,
        method: str = "POST",
        status: int = 500,
        type: str = "api_error",
        message: str = "An unknown error occurred (stand-in injected failure).",
        code: str | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests to ``method path`` with this error instead of executing them.

        Injected 5xx answers carry ``Stripe-Should-Retry: false`` so the library does not retry them.
        """
        with self._lock:
            self._failures.append(
                {"method": method.upper(), "path": path, "times": times, "error": (status, type, message, code)}
            )

    def lose_answers(self, path: str, *, method: str = "POST", times: int = 2) -> None:
        """Execute the next ``times`` requests to ``method path`` but answer none of them: the connection closes
        with no response (a timeout on the way back). Two by default: the library retries a lost answer once."""
        with self._lock:
            self._lost.append({"method": method.upper(), "path": path, "times": times})

    def complete(
        self,
        session_id: str,
        *,
        method: str = CARD,
        fee_cents: int | None = None,
        email: str | None = None,
        card_number: str | None = None,
    ) -> dict[str, Any]:
        """The customer pays (or, in setup mode, saves a card or bank account); returns the session.

        Card: paid at once, balance transaction with the card fee. ACH: ``complete``/``unpaid`` and the
        PI ``processing`` until ``settle_ach``; the balance transaction is created when it settles.
        Setup mode: a SetupIntent (``succeeded``) and a PaymentMethod attached to the session's customer;
        ``card_number`` picks Stripe's test behaviour for later off-session charges (``SAVED_CARDS``).
        """
        with self._lock:
            session = self._typed_raw(session_id, "checkout.session")
            if session["status"] != "open":
                raise ValueError(f"checkout session {session_id} is {session['status']}, not open")
            if method not in session["payment_method_types"]:
                raise ValueError(f"{method} is not among this session's payment_method_types")
            if session["mode"] == "setup":
                return self._complete_setup(session, method, card_number, email)
            now = self._now()
            amount, currency = session["amount_total"], session["currency"]
            pi_id, ch_id = _new_id("pi_"), _new_id("ch_" if method == CARD else "py_")
            card = method == CARD
            pi_metadata = self._pi_metadata.pop(session_id, {})
            if card:
                details = {"type": CARD, CARD: {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034}}
            else:
                details = {
                    "type": ACH,
                    ACH: {"bank_name": "STRIPE TEST BANK", "last4": "6789", "routing_number": "110000000"},
                }
            self._objects[pi_id] = {
                "id": pi_id,
                "object": "payment_intent",
                "amount": amount,
                "amount_capturable": 0,
                "amount_received": amount if card else 0,
                "canceled_at": None,
                "capture_method": "automatic",
                "client_secret": f"{pi_id}_secret_{_new_id('', 25)}",
                "created": now,
                "currency": currency,
                "customer": None,
                "description": None,
                "last_payment_error": None,
                "latest_charge": ch_id,
                "livemode": False,
                "metadata": pi_metadata,
                "payment_method": _new_id("pm_"),
                "payment_method_types": [method],
                "status": "succeeded" if card else "processing",
            }
            self._objects[ch_id] = {
                "id": ch_id,
                "object": "charge",
                "amount": amount,
                "amount_captured": amount,
                "amount_refunded": 0,
                "balance_transaction": None,
                "billing_details": {"email": email or session["customer_email"], "name": "Test Customer"},
                "captured": True,
                "created": now,
                "currency": currency,
                "customer": None,
                "description": None,
                "disputed": False,
                "failure_code": None,
                "failure_message": None,
                "livemode": False,
                "metadata": dict(pi_metadata),
                "outcome": {"network_status": "approved_by_network", "type": "authorized"},
                "paid": card,
                "payment_intent": pi_id,
                "payment_method": self._objects[pi_id]["payment_method"],
                "payment_method_details": details,
                "receipt_email": None,
                "refunded": False,
                "status": "succeeded" if card else "pending",
            }
            fee = fee_cents if fee_cents is not None else (card_fee(amount) if card else ach_fee(amount))
            if card:
                self._charge_txn(ch_id, fee)
            else:
                self._pending_fee[ch_id] = fee
            session.update(
                status="complete",
                payment_status="paid" if card else "unpaid",
                payment_intent=pi_id,
                url=None,
                customer_details={
                    "address": None,
                    "email": email or session["customer_email"] or "customer@example.com",
                    "name": "Test Customer",
                    "phone": None,
                    "tax_exempt": "none",
                    "tax_ids": [],
                },
            )
            return copy.deepcopy(session)

    def settle_ach(self, session_id: str, *, succeeded: bool = True) -> dict[str, Any]:
        """Settle a pending ACH payment: paid (balance transaction created) or failed; returns the session."""
        with self._lock:
            session = self._typed_raw(session_id, "checkout.session")
            pi = self._objects.get(session["payment_intent"] or "")
            if pi is None or pi["status"] != "processing":
                raise ValueError(f"checkout session {session_id} has no processing ACH payment")
            self.settle_intent(pi["id"], succeeded=succeeded)
            if succeeded:
                session["payment_status"] = "paid"
            return copy.deepcopy(session)

    def settle_intent(self, payment_intent_id: str, *, succeeded: bool = True) -> dict[str, Any]:
        """Settle a processing ACH PaymentIntent (a checkout's or an off-session one): paid, with its balance
        transaction, or failed (``requires_payment_method``); returns the PaymentIntent."""
        with self._lock:
            pi = self._typed_raw(payment_intent_id, "payment_intent")
            if pi["status"] != "processing":
                raise ValueError(f"payment intent {payment_intent_id} is {pi['status']}, not processing")
            charge = self._objects[pi["latest_charge"]]
            if succeeded:
                pi.update(status="succeeded", amount_received=pi["amount"])
                charge.update(status="succeeded", paid=True)
                self._charge_txn(charge["id"], self._pending_fee.pop(charge["id"]))
            else:
                message = "The customer's bank account has insufficient funds to cover this payment."
                pi.update(
                    status="requires_payment_method",
                    last_payment_error={
                        "code": "insufficient_funds",
                        "message": message,
                        "type": "invalid_request_error",
                    },
                )
                charge.update(status="failed", failure_code="insufficient_funds", failure_message=message)
                self._pending_fee.pop(charge["id"], None)
            return copy.deepcopy(pi)

    def expire(self, session_id: str) -> dict[str, Any]:
        """Expire an open session (as ``POST /v1/checkout/sessions/{id}/expire`` does); returns it."""
        with self._lock:
            session = self._typed_raw(session_id, "checkout.session")
            if session["status"] != "open":
                raise ValueError(f"checkout session {session_id} is {session['status']}, not open")
            session.update(status="expired", url=None)
            return copy.deepcopy(session)

    def dispute(
        self, object_id: str, amount: int | None = None, *, fee_cents: int = 1500, reason: str = "fraudulent"
    ) -> dict[str, Any]:
        """Open a dispute on the charge of a session/payment intent/charge; returns the dispute.

        Its balance transaction withdraws ``amount`` (default: the whole charge) plus the dispute fee.
        """
        with self._lock:
            charge = self._charge_of(object_id)
            if charge["status"] != "succeeded":
                raise ValueError(f"charge {charge['id']} has not succeeded")
            amount = charge["amount"] if amount is None else amount
            dp_id, now = _new_id("dp_"), self._now()
            txn = self._txn(
                -amount,
                fee_cents,
                charge["currency"],
                dp_id,
                "adjustment",
                "dispute",
                "Chargeback withdrawal for " + charge["id"],
            )
            self._objects[dp_id] = {
                "id": dp_id,
                "object": "dispute",
                "amount": amount,
                "balance_transactions": [txn],
                "charge": charge["id"],
                "created": now,
                "currency": charge["currency"],
                "evidence_details": {
                    "due_by": now + 7 * DAY,
                    "has_evidence": False,
                    "past_due": False,
                    "submission_count": 0,
                },
                "is_charge_refundable": False,
                "livemode": False,
                "metadata": {},
                "payment_intent": charge["payment_intent"],
                "reason": reason,
                "status": "needs_response",
            }
            charge["disputed"] = True
            return copy.deepcopy(self._objects[dp_id])

    def close_dispute(self, dispute_id: str, won: bool, *, return_fee: bool = True) -> dict[str, Any]:
        """Close a dispute: ``won`` returns the amount (and the fee unless ``return_fee=False``)."""
        with self._lock:
            dispute = self._typed_raw(dispute_id, "dispute")
            if dispute["status"] in ("won", "lost"):
                raise ValueError(f"dispute {dispute_id} is already {dispute['status']}")
            if won:
                fee = -dispute["balance_transactions"][0]["fee"] if return_fee else 0
                txn = self._txn(
                    dispute["amount"],
                    fee,
                    dispute["currency"],
                    dispute_id,
                    "adjustment",
                    "dispute_reversal",
                    "Chargeback reversal for " + dispute["charge"],
                )
                dispute["balance_transactions"].append(txn)
            dispute["status"] = "won" if won else "lost"
            return copy.deepcopy(dispute)

    # ------------------------------------------------------------------ events and signatures

    def event(
        self,
        type: str,
        obj: dict[str, Any],
        *,
        created: int | None = None,
        event_id: str | None = None,
    ) -> dict[str, Any]:
        """An event exactly as Stripe delivers it (and retrievable at ``GET /v1/events/{id}``)."""
        event = {
            "id": event_id or _new_id("evt_"),
            "object": "event",
            "api_version": stripe.api_version,
            "created": self._now() if created is None else int(created),
            "data": {"object": copy.deepcopy(obj)},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type,
        }
        with self._lock:
            self._objects[event["id"]] = event
        return copy.deepcopy(event)

    def event_for(self, type: str, object_id: str, **kwargs) -> dict[str, Any]:
        """The event of ``type`` for an object, found from any related id (session, PI, charge, dispute)."""
        with self._lock:
            if type.startswith("checkout.session."):
                obj = self._typed_raw(object_id, "checkout.session")
            elif type.startswith("setup_intent."):
                obj = self._find(object_id)
                if obj["object"] == "checkout.session":
                    obj = self._typed_raw(obj["setup_intent"] or "", "setup_intent")
                elif obj["object"] != "setup_intent":
                    raise KeyError(f"{object_id!r} leads to no setup intent")
            elif type.startswith("payment_intent.") and self._find(object_id)["object"] == "payment_intent":
                obj = self._objects[object_id]  # an off-session payment refused before any charge has none
            elif type.startswith("charge.dispute."):
                obj = self._typed_raw(object_id, "dispute")
            elif type.startswith("charge."):
                obj = self._charge_of(object_id)
            elif type.startswith("payment_intent."):
                obj = self._objects[self._charge_of(object_id)["payment_intent"]]
            else:
                obj = self._find(object_id)
            obj = copy.deepcopy(obj)
        return self.event(type, obj, **kwargs)

    def checkout_session_completed(self, session_id: str, **kwargs) -> dict[str, Any]:
        return self.event_for("checkout.session.completed", session_id, **kwargs)

    def setup_intent_succeeded(self, object_id: str, **kwargs) -> dict[str, Any]:
        """``setup_intent.succeeded`` for a SetupIntent, or for the setup-mode session that made it."""
        return self.event_for("setup_intent.succeeded", object_id, **kwargs)

    def payment_intent_succeeded(self, payment_intent_id: str, **kwargs) -> dict[str, Any]:
        return self.event_for("payment_intent.succeeded", payment_intent_id, **kwargs)

    def payment_intent_payment_failed(self, payment_intent_id: str, **kwargs) -> dict[str, Any]:
        return self.event_for("payment_intent.payment_failed", payment_intent_id, **kwargs)

    def checkout_session_async_payment_succeeded(self, session_id: str, **kwargs) -> dict[str, Any]:
        return self.event_for("checkout.session.async_payment_succeeded", session_id, **kwargs)

    def checkout_session_async_payment_failed(self, session_id: str, **kwargs) -> dict[str, Any]:
        return self.event_for("checkout.session.async_payment_failed", session_id, **kwargs)

    def checkout_session_expired(self, session_id: str, **kwargs) -> dict[str, Any]:
        return self.event_for("checkout.session.expired", session_id, **kwargs)

    def charge_refunded(self, object_id: str, *, include_refunds: bool = False, **kwargs) -> dict[str, Any]:
        """``charge.refunded`` with the charge (``amount_refunded``, ``refunded``).

        Current API versions do not include ``charge.refunds`` in events; ``include_refunds=True`` adds the
        list anyway (``{"object": "list", "data": [...]}``) for code written against older versions.
        """
        event = self.event_for("charge.refunded", object_id, **kwargs)
        if include_refunds:
            with self._lock:
                event["data"]["object"]["refunds"] = self._refund_list(event["data"]["object"]["id"])
                self._objects[event["id"]] = copy.deepcopy(event)
        return event

    def charge_dispute_created(self, dispute_id: str, **kwargs) -> dict[str, Any]:
        return self.event_for("charge.dispute.created", dispute_id, **kwargs)

    def charge_dispute_closed(self, dispute_id: str, **kwargs) -> dict[str, Any]:
        return self.event_for("charge.dispute.closed", dispute_id, **kwargs)

    def signed(self, event: dict[str, Any], secret: str, *, timestamp: int | None = None) -> tuple[bytes, str]:
        """``(raw_body, Stripe-Signature header)`` for posting ``event`` to a webhook endpoint.

        The body is pretty-printed JSON as Stripe sends it; post these exact bytes.
        """
        body = json.dumps(event, indent=2).encode("utf-8")
        stamp = self._now() if timestamp is None else int(timestamp)
        return body, sign_payload(body, secret, stamp)

    # ------------------------------------------------------------------ object helpers (lock held)

    def _now(self) -> int:
        return int(self.clock())

    def _find(self, object_id: str) -> dict[str, Any]:
        try:
            return self._objects[object_id]
        except KeyError:
            raise KeyError(f"the Stripe stand-in has no object {object_id!r}") from None

    def _typed_raw(self, object_id: str, kind: str) -> dict[str, Any]:
        obj = self._objects.get(object_id)
        if obj is None or obj["object"] != kind:
            raise KeyError(f"the Stripe stand-in has no {kind} {object_id!r}")
        return obj

    def _typed(self, object_id: str, kind: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._typed_raw(object_id, kind))

    def _charge_of(self, object_id: str) -> dict[str, Any]:
        obj = self._find(object_id)
        if obj["object"] == "checkout.session":
            obj = self._objects.get(obj["payment_intent"] or "")
            if obj is None:
                raise ValueError(f"checkout session {object_id} has no payment yet")
        if obj["object"] in ("payment_intent", "dispute", "refund"):
            obj = self._objects[obj["latest_charge"] if obj["object"] == "payment_intent" else obj["charge"]]
        if obj["object"] != "charge":
            raise KeyError(f"{object_id!r} leads to no charge")
        return obj

    def _txn(self, amount, fee, currency, source, type_, category, description, status="pending"):
        txn_id, now = _new_id("txn_"), self._now()
        txn = {
            "id": txn_id,
            "object": "balance_transaction",
            "amount": amount,
            "available_on": now + 2 * DAY,
            "created": now,
            "currency": currency,
            "description": description,
            "exchange_rate": None,
            "fee": fee,
            "fee_details": (
                [
                    {
                        "amount": fee,
                        "application": None,
                        "currency": currency,
                        "description": "Stripe processing fees",
                        "type": "stripe_fee",
                    }
                ]
                if fee
                else []
            ),
            "net": amount - fee,
            "reporting_category": category,
            "source": source,
            "status": status,
            "type": type_,
        }
        self._objects[txn_id] = txn
        return copy.deepcopy(txn)

    def settle_in(self, currency: str | None, rate: float = 1.0) -> None:
        """Charges in another currency than ``currency`` settle converted into it at ``rate`` (None: each in its
        own currency), as Stripe does for an account with no bank account in the charge's currency."""
        with self._lock:
            self._settlement = (currency.lower(), rate) if currency else None

    def _charge_txn(self, charge_id: str, fee: int) -> None:
        charge = self._objects[charge_id]
        amount, currency, rate = charge["amount"], charge["currency"], None
        if self._settlement is not None and self._settlement[0] != currency:
            currency, rate = self._settlement

            def convert(cents: int) -> int:
                return int((Decimal(cents) * Decimal(str(rate))).quantize(Decimal(1), ROUND_HALF_UP))

            amount, fee = convert(amount), convert(fee)
        txn = self._txn(
            amount,
            fee,
            currency,
            charge_id,
            "charge" if charge_id.startswith("ch_") else "payment",
            "charge",
            None,
        )
        if rate is not None:
            self._objects[txn["id"]]["exchange_rate"] = rate
        charge["balance_transaction"] = txn["id"]

    def _refund_list(self, charge_id: str) -> dict[str, Any]:
        data = [copy.deepcopy(self._objects[r]) for r in reversed(self._refunds_of.get(charge_id, []))]
        return {
            "object": "list",
            "data": data,
            "has_more": False,
            "total_count": len(data),
            "url": f"/v1/charges/{charge_id}/refunds",
        }

    def _render(self, obj: dict[str, Any], expand: list[str]) -> dict[str, Any]:
        out = copy.deepcopy(obj)
        for path in expand:
            out = self._expand(out, path.split("."), path)
        return out

    def _expand(self, obj: Any, parts: list[str], full: str) -> Any:
        if not parts or not isinstance(obj, dict):
            return obj
        head, rest = parts[0], parts[1:]
        kind = obj.get("object")
        if kind == "list" and head == "data":
            obj["data"] = [self._expand(item, rest, full) for item in obj["data"]]
            return obj
        if head not in _EXPANDABLE.get(kind, ()):
            raise _ApiError(400, f"This property cannot be expanded ({full}).", param="expand")
        if kind == "checkout.session" and head == "line_items":
            items = copy.deepcopy(self._line_items[obj["id"]])
            value: Any = {
                "object": "list",
                "data": items,
                "has_more": False,
                "url": f"/v1/checkout/sessions/{obj['id']}/line_items",
            }
        elif kind == "charge" and head == "refunds":
            value = self._refund_list(obj["id"])
        else:
            value = obj.get(head)
            if isinstance(value, str):
                target = self._objects.get(value)
                if target is None:
                    raise _no_such(head, value, param="expand")
                value = copy.deepcopy(target)
        obj[head] = self._expand(value, rest, full) if value is not None else None
        return obj

    # ------------------------------------------------------------------ HTTP dispatch

    def _handle(self, method: str, raw_path: str, headers: dict[str, str], body: str, seen: list | None = None):
        """Answer one request; returns ``(status, headers, body bytes)`` (and adds its record to ``seen``)."""
        split = urlsplit(raw_path)
        path = split.path
        pairs = parse_qsl(split.query, keep_blank_values=True)
        if method == "POST":
            pairs += parse_qsl(body, keep_blank_values=True)
        record = RecordedRequest(method, path, {}, pairs, headers, body)
        if seen is not None:
            seen.append(record)
        with self._lock:
            self.requests.append(record)
            try:
                if path.startswith("/pay/"):
                    status, out_headers, payload = self._checkout_page(method, unquote(path[5:]), pairs)
                elif path.startswith("/v1/"):
                    record.params = decode_params(pairs)
                    status, out_headers, payload = self._api(method, path, record)
                else:
                    status, out_headers, payload = 404, {"Content-Type": "text/plain"}, b"Not found\n"
            except _ApiError as error:
                status, out_headers, payload = self._error(error)
            except Exception:  # a bug in the stand-in: answer 500 and keep the traceback for the test
                self.errors.append(traceback.format_exc())
                error = _ApiError(500, "Stripe stand-in crashed; see standin.errors", type="api_error")
                status, out_headers, payload = self._error(error)
            record.status = status
            if out_headers.get("Content-Type", "").startswith("application/json"):
                record.response = json.loads(payload)
            for lost in self._lost:
                if lost["method"] == method and lost["path"] == path and lost["times"] > 0:
                    lost["times"] -= 1
                    record.lost = True
            return status, out_headers, payload

    def _json(self, status: int, data: Any, extra: dict[str, str] | None = None):
        headers = {
            "Content-Type": "application/json",
            "Request-Id": _new_id("req_", 14),
            "Stripe-Version": stripe.api_version,
            "Cache-Control": "no-cache, no-store",
            **(extra or {}),
        }
        return status, headers, json.dumps(data, indent=2).encode("utf-8")

    def _error(self, error: _ApiError):
        extra = {"Stripe-Should-Retry": "false"} if error.status >= 500 else {}
        return self._json(error.status, {"error": error.body}, extra)

    def _authenticate(self, record: RecordedRequest) -> str:
        auth = record.header("Authorization") or ""
        key = ""
        if auth.startswith("Bearer "):
            key = auth[7:].strip()
        elif auth.startswith("Basic "):
            try:
                key = base64.b64decode(auth[6:]).decode().split(":", 1)[0]
            except ValueError:
                key = ""
        if not key:
            raise _ApiError(
                401,
                "You did not provide an API key. You need to provide your API key in the Authorization header, "
                "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            )
        if not key.startswith("sk_test_") or (self.api_key is not None and key != self.api_key):
            raise _ApiError(401, f"Invalid API Key provided: {key[:8]}{'*' * 8}{key[-4:]}")
        return key

    def _api(self, method: str, path: str, record: RecordedRequest):
        api_key = self._authenticate(record)
        for failure in self._failures:
            if failure["method"] == method and failure["path"] == path and failure["times"] > 0:
                failure["times"] -= 1
                status, type_, message, code = failure["error"]
                raise _ApiError(status, message, type=type_, code=code)
        params = dict(record.params)
        idem = record.idempotency_key if method == "POST" else None
        if idem:
            stored = self._idempotent.get((api_key, idem))
            if stored is not None:
                s_method, s_path, s_params, s_status, s_body = stored
                if (s_method, s_path, s_params) != (method, path, record.params):
                    raise _ApiError(
                        400,
                        "Keys for idempotent requests can only be used with the same parameters they were first "
                        f"used with. Try using a key other than '{idem}' if you meant to execute a different "
                        "request.",
                        type="idempotency_error",
                    )
                record.replayed = True
                status, headers, _ = self._json(
                    s_status, None, {"Idempotent-Replayed": "true", "Original-Request": "replayed"}
                )
                return status, headers, s_body
        expand = params.pop("expand", None) or []
        if isinstance(expand, str) or not all(isinstance(e, str) for e in expand):
            raise _ApiError(400, "Invalid array", param="expand")
        try:
            status, obj = self._route(method, path, params)
        except _ApiError as error:
            if idem and error.status == 402:  # a decline happened: Stripe answers its replay the same way
                status, _, payload = self._error(error)
                self._idempotent[(api_key, idem)] = (method, path, copy.deepcopy(record.params), status, payload)
            raise
        status, headers, payload = self._json(status, self._render(obj, expand))
        if idem and 200 <= status < 300:
            self._idempotent[(api_key, idem)] = (method, path, copy.deepcopy(record.params), status, payload)
        return status, headers, payload

    def _route(self, method: str, path: str, params: dict):
        parts = [unquote(p) for p in path.strip("/").split("/")][1:]  # drop "v1"
        if method == "POST" and parts == ["checkout", "sessions"]:
            return 200, self._create_session(params)
        if method == "POST" and len(parts) == 4 and parts[:2] == ["checkout", "sessions"] and parts[3] == "expire":
            self._no_params(params)
            status = self._api_lookup(parts[2], "checkout.session", "session")["status"]
            if status != "open":
                raise _ApiError(
                    400,
                    'Only Checkout Sessions with a status in ["open"] can be expired. '
                    f'This Checkout Session has a status of "{status}".',
                )
            return 200, self.expire(parts[2])
        if method == "POST" and parts == ["refunds"]:
            return 200, self._create_refund(params)
        if method == "POST" and parts == ["customers"]:
            return 200, self._create_customer(params)
        if method == "POST" and parts == ["payment_intents"]:
            return 200, self._create_intent(params)
        if method == "POST" and len(parts) == 3 and parts[0] == "payment_methods" and parts[2] == "detach":
            self._no_params(params)
            return 200, self._detach(parts[1])
        if method == "GET" and parts == ["refunds"]:
            return 200, self._list_refunds(params)
        retrievable = {
            ("checkout", "sessions"): ("checkout.session", "session"),
            ("payment_intents",): ("payment_intent", "intent"),
            ("charges",): ("charge", "charge"),
            ("refunds",): ("refund", "refund"),
            ("disputes",): ("dispute", "dispute"),
            ("balance_transactions",): ("balance_transaction", "id"),
            ("events",): ("event", "id"),
            ("customers",): ("customer", "customer"),
            ("setup_intents",): ("setup_intent", "intent"),
            ("payment_methods",): ("payment_method", "payment_method"),
        }
        if method == "GET" and parts and tuple(parts[:-1]) in retrievable:
            self._no_params(params)
            kind, param = retrievable[tuple(parts[:-1])]
            return 200, self._api_lookup(parts[-1], kind, param)
        raise _ApiError(
            404,
            f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at "
            "https://support.stripe.com/.",
        )

    @staticmethod
    def _no_params(params: dict) -> None:
        for key in params:
            raise _unknown(key)

    def _api_lookup(self, object_id: str, kind: str, param: str) -> dict[str, Any]:
        obj = self._objects.get(object_id)
        if obj is None or obj["object"] != kind:
            raise _no_such(kind, object_id, param)
        return obj

    # ------------------------------------------------------------------ endpoints

    def _create_session(self, params: dict) -> dict[str, Any]:
        for key in params:
            if key not in _SESSION_PARAMS:
                raise _unknown(key)
        mode = params.get("mode")
        if not mode:
            raise _missing("mode")
        if mode not in ("payment", "setup"):
            raise _ApiError(
                400, f"The Stripe stand-in supports mode=payment and mode=setup, not {mode!r}.", param="mode"
            )
        if (params.get("ui_mode") or "hosted") != "hosted":
            raise _ApiError(400, "The Stripe stand-in supports only ui_mode=hosted.", param="ui_mode")
        methods = params.get("allowed_payment_method_types") or [CARD]
        if not isinstance(methods, list):
            raise _ApiError(400, "Invalid array", param="allowed_payment_method_types")
        for index, name in enumerate(methods):
            if name not in PAYMENT_METHODS:
                raise _ApiError(
                    400,
                    f"Invalid allowed_payment_method_types[{index}]: "
                    f"the Stripe stand-in supports {', '.join(PAYMENT_METHODS)}",
                    param=f"allowed_payment_method_types[{index}]",
                )
        if mode == "setup":
            return self._create_setup_session(params, methods)
        items = params.get("line_items")
        if not items:
            raise _missing("line_items")
        if not isinstance(items, list):
            raise _ApiError(400, "Invalid array", param="line_items")
        line_items, currency, amount_total = [], None, 0
        for index, item in enumerate(items):
            where = f"line_items[{index}]"
            if not isinstance(item, dict):
                raise _ApiError(400, "Invalid object", param=where)
            if "price" in item:
                raise _ApiError(
                    400, "The Stripe stand-in supports only price_data line items.", param=f"{where}[price]"
                )
            price_data = item.get("price_data")
            if not isinstance(price_data, dict):
                raise _ApiError(400, "You must specify either `price` or `price_data` for each line item.", param=where)
            quantity = _int_param(item, "quantity", minimum=1)
            if quantity is None:
                raise _missing(f"{where}[quantity]")
            item_currency = (price_data.get("currency") or "").lower()
            if not item_currency:
                raise _missing(f"{where}[price_data][currency]")
            unit_amount = _int_param(price_data, "unit_amount")
            if unit_amount is None:
                raise _missing(f"{where}[price_data][unit_amount]")
            product = price_data.get("product_data")
            name = product.get("name") if isinstance(product, dict) else None
            if not name:
                raise _missing(f"{where}[price_data][product_data][name]")
            if currency and item_currency != currency:
                raise _ApiError(
                    400, "All line items must use the same currency.", param=f"{where}[price_data][currency]"
                )
            currency = item_currency
            amount_total += unit_amount * quantity
            line_items.append(
                {
                    "id": _new_id("li_"),
                    "object": "item",
                    "amount_discount": 0,
                    "amount_subtotal": unit_amount * quantity,
                    "amount_tax": 0,
                    "amount_total": unit_amount * quantity,
                    "currency": item_currency,
                    "description": name,
                    "price": {
                        "id": _new_id("price_"),
                        "object": "price",
                        "currency": item_currency,
                        "product": _new_id("prod_", 14),
                        "type": "one_time",
                        "unit_amount": unit_amount,
                    },
                    "quantity": quantity,
                }
            )
        assert currency is not None
        if ACH in methods and currency != "usd":
            raise _ApiError(
                400,
                f"The payment method `us_bank_account` does not support currency `{currency}`.",
                param="allowed_payment_method_types",
            )
        if currency == "usd" and amount_total < 50:
            raise _ApiError(
                400, "The Checkout Session's total amount due must add up to at least $0.50 usd", param="line_items"
            )
        intent_data = params.get("payment_intent_data") or {}
        if not isinstance(intent_data, dict):
            raise _ApiError(400, "Invalid object", param="payment_intent_data")
        now = self._now()
        expires_at = _int_param(params, "expires_at") or now + DAY
        session_id = _new_id("cs_test_", 58)
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": amount_total,
            "amount_total": amount_total,
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"),
            "created": now,
            "currency": currency,
            "customer": params.get("customer"),
            "customer_details": None,
            "customer_email": params.get("customer_email"),
            "expires_at": expires_at,
            "livemode": False,
            "locale": params.get("locale"),
            "metadata": _metadata(params),
            "mode": "payment",
            "payment_intent": None,
            "setup_intent": None,
            "payment_method_types": methods,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": params.get("success_url"),
            "ui_mode": "hosted",
            "url": f"{self.url}/pay/{session_id}",
        }
        self._objects[session_id] = session
        self._line_items[session_id] = line_items
        self._pi_metadata[session_id] = _metadata(intent_data, "metadata")
        return session

    def _create_setup_session(self, params: dict, methods: list[str]) -> dict[str, Any]:
        """A setup-mode session: saves a payment method to the customer for later, takes no money."""
        if params.get("line_items"):
            raise _ApiError(400, "You cannot pass `line_items` in `setup` mode.", param="line_items")
        if params.get("payment_intent_data"):
            raise _ApiError(400, "You cannot pass `payment_intent_data` in `setup` mode.", param="payment_intent_data")
        currency = (params.get("currency") or "").lower()
        if not currency:
            raise _missing("currency")
        if ACH in methods and currency != "usd":
            raise _ApiError(
                400,
                f"The payment method `us_bank_account` does not support currency `{currency}`.",
                param="allowed_payment_method_types",
            )
        customer = params.get("customer")
        if customer:
            self._api_lookup(customer, "customer", "customer")
        setup_data = params.get("setup_intent_data") or {}
        if not isinstance(setup_data, dict):
            raise _ApiError(400, "Invalid object", param="setup_intent_data")
        now = self._now()
        session_id = _new_id("cs_test_", 58)
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": None,
            "amount_total": None,
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"),
            "created": now,
            "currency": currency,
            "customer": customer or None,
            "customer_details": None,
            "customer_email": params.get("customer_email"),
            "expires_at": _int_param(params, "expires_at") or now + DAY,
            "livemode": False,
            "locale": params.get("locale"),
            "metadata": _metadata(params),
            "mode": "setup",
            "payment_intent": None,
            "payment_method_types": methods,
            "payment_status": "no_payment_required",
            "setup_intent": None,  # made when the customer completes the page (API versions since 2022-08-01)
            "status": "open",
            "success_url": params.get("success_url"),
            "ui_mode": "hosted",
            "url": f"{self.url}/pay/{session_id}",
        }
        self._objects[session_id] = session
        self._line_items[session_id] = []
        self._pi_metadata[session_id] = _metadata(setup_data, "metadata")
        return session

    def _complete_setup(self, session: dict, method: str, card_number: str | None, email: str | None) -> dict:
        now = self._now()
        customer_id = session["customer"]
        if customer_id is None:  # Checkout makes one for a setup session without a customer
            customer_id = self._create_customer({"email": email or session["customer_email"]})["id"]
        customer = self._objects[customer_id]
        billing_email = email or customer.get("email") or session["customer_email"]
        pm = self._new_payment_method(method, card_number, customer_id, billing_email, customer.get("name"))
        seti_id = _new_id("seti_")
        self._objects[seti_id] = {
            "id": seti_id,
            "object": "setup_intent",
            "application": None,
            "cancellation_reason": None,
            "client_secret": f"{seti_id}_secret_{_new_id('', 25)}",
            "created": now,
            "customer": customer_id,
            "description": None,
            "last_setup_error": None,
            "latest_attempt": _new_id("setatt_"),
            "livemode": False,
            "mandate": _new_id("mandate_") if method == ACH else None,
            "metadata": self._pi_metadata.pop(session["id"], {}),
            "next_action": None,
            "on_behalf_of": None,
            "payment_method": pm["id"],
            "payment_method_types": [method],
            "single_use_mandate": None,
            "status": "succeeded",
            "usage": "off_session",
        }
        session.update(
            status="complete",
            setup_intent=seti_id,
            customer=customer_id,
            url=None,
            customer_details={
                "address": None,
                "email": billing_email or "customer@example.com",
                "name": customer.get("name") or "Test Customer",
                "phone": None,
                "tax_exempt": "none",
                "tax_ids": [],
            },
        )
        return copy.deepcopy(session)

    def _new_payment_method(self, method, card_number, customer_id, email, name) -> dict[str, Any]:
        pm_id, number = _new_id("pm_"), (card_number or "4242424242424242").replace(" ", "")
        if method == CARD:
            if not number.isdigit() or not 13 <= len(number) <= 19:
                raise ValueError("the stand-in's card number must be 13 to 19 digits")
            if number in SETUP_DECLINES:
                raise ValueError("Your card was declined.")
            self._behaviour[pm_id] = SAVED_CARDS.get(number, "ok")
            details: dict[str, Any] = {
                "brand": CARD_BRANDS.get(number[0], "unknown"),
                "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"},
                "country": "US",
                "display_brand": CARD_BRANDS.get(number[0], "unknown"),
                "exp_month": 12,
                "exp_year": 2034,
                "fingerprint": hashlib.sha256(number.encode()).hexdigest()[:16],
                "funding": "credit",
                "last4": number[-4:],
                "networks": {"available": [CARD_BRANDS.get(number[0], "unknown")], "preferred": None},
                "wallet": None,
            }
        else:
            self._behaviour[pm_id] = "ok"
            details = {
                "account_holder_type": "individual",
                "account_type": "checking",
                "bank_name": "STRIPE TEST BANK",
                "financial_connections_account": None,
                "fingerprint": _new_id("", 16),
                "last4": "6789",
                "networks": {"preferred": "ach", "supported": ["ach"]},
                "routing_number": "110000000",
                "status_details": {},
            }
        pm = {
            "id": pm_id,
            "object": "payment_method",
            "allow_redisplay": "always",
            "billing_details": {"address": None, "email": email, "name": name or "Test Customer", "phone": None},
            "created": self._now(),
            "customer": customer_id,
            "livemode": False,
            "metadata": {},
            "type": method,
            method: details,
        }
        self._objects[pm_id] = pm
        return pm

    def _create_customer(self, params: dict) -> dict[str, Any]:
        for key in params:
            if key not in _CUSTOMER_PARAMS:
                raise _unknown(key)
        customer_id = _new_id("cus_", 14)
        customer = {
            "id": customer_id,
            "object": "customer",
            "address": None,
            "balance": 0,
            "created": self._now(),
            "currency": None,
            "default_source": None,
            "delinquent": False,
            "description": params.get("description"),
            "email": params.get("email"),
            "invoice_prefix": customer_id[4:12].upper(),
            "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None},
            "livemode": False,
            "metadata": _metadata(params),
            "name": params.get("name"),
            "phone": params.get("phone"),
            "preferred_locales": [],
            "shipping": None,
            "tax_exempt": "none",
        }
        self._objects[customer_id] = customer
        return customer

    def _detach(self, pm_id: str) -> dict[str, Any]:
        pm = self._api_lookup(pm_id, "payment_method", "payment_method")
        if pm["customer"] is None:
            raise _ApiError(
                400,
                "The payment method you provided is not attached to a customer so detachment is impossible.",
                code="payment_method_unexpected_state",
            )
        pm["customer"] = None
        return pm

    def _create_intent(self, params: dict) -> dict[str, Any]:
        """An off-session PaymentIntent on a saved method, confirmed at once (the only kind emulated)."""
        for key in params:
            if key not in _INTENT_PARAMS:
                raise _unknown(key)
        amount = _int_param(params, "amount", minimum=1)
        if amount is None:
            raise _missing("amount")
        currency = (params.get("currency") or "").lower()
        if not currency:
            raise _missing("currency")
        if params.get("confirm") != "true" or params.get("off_session") != "true":
            raise _ApiError(400, "The Stripe stand-in supports only confirm=true with off_session=true.")
        if not params.get("payment_method"):
            raise _missing("payment_method")
        pm = self._api_lookup(params["payment_method"], "payment_method", "payment_method")
        customer = params.get("customer")
        if customer:
            self._api_lookup(customer, "customer", "customer")
        if pm["customer"] is None:
            raise _ApiError(
                400,
                "The provided PaymentMethod was previously used with a PaymentIntent without Customer attachment, "
                "shared with a connected account without Customer attachment, or was detached from a Customer. It "
                "may not be used again. To use a PaymentMethod multiple times, you must attach it to a Customer "
                "first.",
                param="payment_method",
            )
        if pm["customer"] != customer:
            raise _ApiError(
                400,
                f"The provided PaymentMethod {pm['id']} does not belong to the Customer {customer or '(none given)'}.",
                param="payment_method",
            )
        method = pm["type"]
        if method == ACH and currency != "usd":
            raise _ApiError(400, f"The payment method `us_bank_account` does not support currency `{currency}`.")
        if currency == "usd" and amount < 50:
            raise _ApiError(400, "Amount must be at least $0.50 usd", code="amount_too_small", param="amount")
        now, pi_id = self._now(), _new_id("pi_")
        metadata = _metadata(params)
        card = method == CARD
        pi = {
            "id": pi_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "canceled_at": None,
            "capture_method": "automatic",
            "client_secret": f"{pi_id}_secret_{_new_id('', 25)}",
            "created": now,
            "currency": currency,
            "customer": customer,
            "description": params.get("description"),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": metadata,
            "next_action": None,
            "payment_method": pm["id"],
            "payment_method_types": [method],
            "setup_future_usage": None,
            "status": "processing",
        }
        self._objects[pi_id] = pi
        behaviour = self._behaviour.get(pm["id"], "ok")
        if behaviour == "authenticate":
            message = "Your card was declined. This transaction requires authentication."
            raise _card_error(pi, pm, "authentication_required", "authentication_required", message)
        declined = behaviour == "decline"
        ch_id = _new_id("ch_" if card else "py_")
        details = {"type": method, method: {k: pm[method][k] for k in pm[method] if k in _CHARGE_DETAIL_KEYS}}
        self._objects[ch_id] = {
            "id": ch_id,
            "object": "charge",
            "amount": amount,
            "amount_captured": 0 if declined else amount,
            "amount_refunded": 0,
            "balance_transaction": None,
            "billing_details": copy.deepcopy(pm["billing_details"]),
            "captured": not declined,
            "created": now,
            "currency": currency,
            "customer": customer,
            "description": params.get("description"),
            "disputed": False,
            "failure_code": "card_declined" if declined else None,
            "failure_message": "Your card was declined." if declined else None,
            "livemode": False,
            "metadata": dict(metadata),
            "outcome": (
                {"network_status": "declined_by_network", "reason": "generic", "type": "issuer_declined"}
                if declined
                else {"network_status": "approved_by_network", "type": "authorized"}
            ),
            "paid": card and not declined,
            "payment_intent": pi_id,
            "payment_method": pm["id"],
            "payment_method_details": details,
            "receipt_email": params.get("receipt_email"),
            "refunded": False,
            "status": "failed" if declined else ("succeeded" if card else "pending"),
        }
        pi["latest_charge"] = ch_id
        if declined:
            raise _card_error(pi, pm, "card_declined", "generic_decline", "Your card was declined.", ch_id)
        if card:
            pi.update(status="succeeded", amount_received=amount)
            self._charge_txn(ch_id, card_fee(amount))
        else:
            self._pending_fee[ch_id] = ach_fee(amount)
        return pi

    def _create_refund(self, params: dict) -> dict[str, Any]:
        for key in params:
            if key not in _REFUND_PARAMS:
                raise _unknown(key)
        if params.get("charge"):
            charge = self._api_lookup(params["charge"], "charge", "charge")
            if params.get("payment_intent") and params["payment_intent"] != charge["payment_intent"]:
                raise _ApiError(400, "The charge does not belong to this payment_intent.", param="charge")
        elif params.get("payment_intent"):
            pi = self._api_lookup(params["payment_intent"], "payment_intent", "payment_intent")
            charge = self._objects.get(pi["latest_charge"] or "")
            if charge is None or pi["status"] != "succeeded":
                raise _ApiError(
                    400,
                    f"This PaymentIntent ({pi['id']}) does not have a successful charge to refund.",
                    code="charge_not_refundable" if charge else None,
                    param="payment_intent",
                )
        else:
            raise _ApiError(
                400, "One of the following params should be provided for this request: payment_intent or charge."
            )
        if charge["status"] != "succeeded":
            raise _ApiError(
                400, f"Charge {charge['id']} has not succeeded and cannot be refunded.", code="charge_not_refundable"
            )
        if charge["disputed"]:
            raise _ApiError(
                400, f"Charge {charge['id']} has been charged back; cannot issue a refund.", code="charge_disputed"
            )
        reason = params.get("reason")
        if reason is not None and reason not in _REFUND_REASONS:
            raise _ApiError(400, f"Invalid reason: must be one of {', '.join(sorted(_REFUND_REASONS))}", param="reason")
        left = charge["amount"] - charge["amount_refunded"]
        if left <= 0:
            raise _ApiError(400, f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded")
        amount = _int_param(params, "amount", minimum=1)
        amount = left if amount is None else amount
        if amount > left:
            currency = charge["currency"]
            raise _ApiError(
                400,
                f"Refund amount ({_money(amount, currency)}) is greater than unrefunded amount on charge "
                f"({_money(left, currency)})",
                code="amount_too_large",
                param="amount",
            )
        refund_id = _new_id("re_" if charge["id"].startswith("ch_") else "pyr_")
        ach = charge["payment_method_details"]["type"] == ACH
        txn = self._txn(-amount, 0, charge["currency"], refund_id, "refund", "refund", "REFUND FOR CHARGE")
        refund = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "balance_transaction": txn["id"],
            "charge": charge["id"],
            "created": self._now(),
            "currency": charge["currency"],
            "destination_details": {"type": ACH if ach else CARD},
            "metadata": _metadata(params),
            "payment_intent": charge["payment_intent"],
            "reason": reason,
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": "pending" if ach else "succeeded",
            "transfer_reversal": None,
        }
        self._objects[refund_id] = refund
        self._refunds_of.setdefault(charge["id"], []).append(refund_id)
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        return refund

    def _list_refunds(self, params: dict) -> dict[str, Any]:
        for key in params:
            if key not in ("charge", "payment_intent", "limit"):
                raise _unknown(key)
        limit = _int_param(params, "limit", minimum=1) or 10
        refunds = [o for o in self._objects.values() if o["object"] == "refund"]
        for key in ("charge", "payment_intent"):
            if params.get(key):
                refunds = [r for r in refunds if r[key] == params[key]]
        refunds.sort(key=lambda r: r["created"], reverse=True)
        return {"object": "list", "data": refunds[:limit], "has_more": len(refunds) > limit, "url": "/v1/refunds"}

    # ------------------------------------------------------------------ the hosted checkout page

    def _checkout_page(self, method: str, session_id: str, pairs: list[tuple[str, str]]):
        session = self._objects.get(session_id)
        if session is None or session["object"] != "checkout.session":
            return self._page(404, "Not found", "<p>This Checkout Session does not exist.</p>")
        if method == "POST":
            form = dict(pairs)
            try:
                self.complete(
                    session_id,
                    method=form.get("method") or CARD,
                    email=form.get("email") or None,
                    card_number=form.get("card_number") or None,
                )
            except ValueError as error:
                return self._page(400, "Payment refused", f"<p>{html.escape(str(error))}</p>")
            target = self.success_redirect_url(session_id)
            if target is None:
                return self._page(200, "Payment complete", "<p>Thank you, your payment is complete.</p>")
            return 303, {"Location": target, "Content-Length": "0"}, b""
        if method != "GET":
            return self._page(405, "Method not allowed", "")
        if session["status"] != "open":
            return self._page(
                200, "Checkout closed", f"<p>This Checkout Session is {html.escape(session['status'])}.</p>"
            )
        if session["mode"] == "setup":
            return self._setup_page(session)
        rows = "".join(
            f"<li>{html.escape(li['description'])} &times; {li['quantity']}: "
            f"{html.escape(_money(li['amount_total'], li['currency']))}</li>"
            for li in self._line_items[session_id]
        )
        labels = {CARD: "Card (Visa 4242)", ACH: "US bank account (ACH Direct Debit)"}
        choices = "".join(
            f'<label><input type="radio" name="method" value="{m}"{" checked" if i == 0 else ""}> '
            f"{labels[m]}</label><br>"
            for i, m in enumerate(session["payment_method_types"])
        )
        email = html.escape(session["customer_email"] or "")
        total = html.escape(_money(session["amount_total"], session["currency"]))
        cancel = (
            f'<p><a id="cancel" href="{html.escape(session["cancel_url"])}">Cancel and return</a></p>'
            if session["cancel_url"]
            else ""
        )
        body = (
            f'<ul id="line-items">{rows}</ul><p>Total: <strong id="amount">{total}</strong></p>'
            f'<form method="post" action="/pay/{html.escape(session_id)}">{choices}'
            f'<label>Email <input type="email" name="email" value="{email}"></label><br>'
            f'<button type="submit" id="pay">Pay {total}</button></form>{cancel}'
        )
        return self._page(200, "Stripe stand-in checkout", body)

    def _setup_page(self, session: dict[str, Any]):
        """Setup mode: the customer picks card or bank and (card) types a test number that picks its behaviour."""
        labels = {CARD: "Card", ACH: "US bank account (STRIPE TEST BANK, ending 6789)"}
        choices = "".join(
            f'<label><input type="radio" name="method" value="{m}"{" checked" if i == 0 else ""}> '
            f"{labels[m]}</label><br>"
            for i, m in enumerate(session["payment_method_types"])
        )
        cancel = (
            f'<p><a id="cancel" href="{html.escape(session["cancel_url"])}">Cancel and return</a></p>'
            if session["cancel_url"]
            else ""
        )
        body = (
            f'<form method="post" action="/pay/{html.escape(session["id"])}">{choices}'
            '<label>Card number <input name="card_number" id="card_number" value="4242424242424242"></label><br>'
            f'<button type="submit" id="save">Save</button></form>{cancel}'
        )
        return self._page(200, "Stripe stand-in: save a payment method", body)

    @staticmethod
    def _page(status: int, title: str, body: str):
        page = (
            f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
            f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
        )
        return status, {"Content-Type": "text/html; charset=utf-8"}, page.encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "stripe-standin/1"

    def log_message(self, format, *args):  # quiet: requests are in standin.requests
        pass

    def _serve(self, method: str) -> None:
        standin: StandIn = self.server.standin  # type: ignore[attr-defined]
        if standin._server is not self.server:  # stopped: drop kept-alive connections instead of answering
            self.close_connection = True
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8") if length else ""
        seen: list[RecordedRequest] = []
        status, headers, payload = standin._handle(method, self.path, dict(self.headers.items()), body, seen)
        if seen[0].lost:
            self.close_connection = True  # the answer lost on its way back: nothing is written
            return
        self.send_response(status)
        for name, value in headers.items():
            if name != "Content-Length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(payload)

    def do_GET(self):  # noqa: N802
        self._serve("GET")

    def do_POST(self):  # noqa: N802
        self._serve("POST")

    def do_DELETE(self):  # noqa: N802
        self._serve("DELETE")


def deliver(client, standin, event, timestamp=None, secret=WEBHOOK_SECRET):
    """Post a Stripe-signed webhook event to the app."""
    body, header = standin.signed(event, secret, timestamp=timestamp)
    return client.post(
        "/webhooks/stripe", data=body, headers={"Stripe-Signature": header, "Content-Type": "application/json"}
    )
