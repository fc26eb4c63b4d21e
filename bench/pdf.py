"""How long a PDF takes: the demo firm's trust request, invoice and receipt, through the app's own routes.

Prints the time to import WeasyPrint, the first PDF of a fresh process (Fontconfig and Pango start, the print
template is compiled), then the median and slowest of each PDF warm, in milliseconds, with its size.
No goal is set; a receipt laid out on a quiet machine in about 50 ms is what to compare against.

    .venv/bin/python bench/pdf.py [--iterations 20]
"""

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

started = time.perf_counter()
import weasyprint  # noqa: E402,F401  (timed: gunicorn pays this once per worker, at start-up)

IMPORT_MS = (time.perf_counter() - started) * 1000

from bench_lists import bench_app  # noqa: E402
from sqlalchemy import select  # noqa: E402

from trustweb.demo import DEMO_PASSWORD, DEMO_USERS, load_demo  # noqa: E402
from trustweb.extensions import db  # noqa: E402
from trustweb.models import Invoice, Payment, TrustRequest  # noqa: E402

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def sign_in(client):
    """The demo administrator, through the sign-in form."""
    token = CSRF_META.search(client.get("/auth/login").get_data(as_text=True)).group(1)
    data = {"email": DEMO_USERS[0][0], "password": DEMO_PASSWORD, "csrf_token": token}
    if client.post("/auth/login", data=data).status_code != 303:
        raise SystemExit("sign-in failed")


def pdf_urls():
    """The first trust request's, invoice's and receipt's PDF addresses in the demo firm."""
    request_id = db.session.scalar(select(TrustRequest.id).order_by(TrustRequest.id))
    invoice_id = db.session.scalar(select(Invoice.id).order_by(Invoice.id))
    payment_id = db.session.scalar(select(Payment.id).where(Payment.receipt_number.is_not(None)).order_by(Payment.id))
    return {
        "trust request": f"/bills/requests/{request_id}/pdf",
        "invoice": f"/bills/invoices/{invoice_id}/pdf",
        "receipt": f"/bills/payments/{payment_id}/receipt.pdf",
    }


def timed(client, url):
    """(milliseconds, bytes) of one GET, which must answer with a PDF."""
    begun = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - begun) * 1000
    if response.status_code != 200 or response.mimetype != "application/pdf":
        raise SystemExit(f"{url} answered {response.status_code} {response.mimetype}")
    return elapsed, len(response.data)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20, help="warm PDFs of each kind (default 20)")
    args = parser.parse_args()
    with bench_app(None) as (app, where):
        with app.app_context():
            db.create_all()
            load_demo()
            urls = pdf_urls()
        client = app.test_client()
        sign_in(client)
        client.get("/bills/")  # the database and the page templates warmed, so the first PDF is the PDF's own cost
        print(f"TrustWeb PDFs on {where}, WeasyPrint {weasyprint.__version__}")
        print(f"  import weasyprint: {IMPORT_MS:.0f} ms")
        first, _ = timed(client, urls["receipt"])
        print(f"  first PDF of the process (a receipt): {first:.0f} ms")
        for name, url in urls.items():
            samples, size = zip(*(timed(client, url) for _ in range(args.iterations)), strict=True)
            print(
                f"  {name:14} median {statistics.median(samples):5.0f} ms, slowest {max(samples):5.0f} ms,"
                f" {size[0] / 1024:.0f} KiB  ({url})"
            )


if __name__ == "__main__":
    main()
