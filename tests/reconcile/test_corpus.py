"""Real banks' statement files (from public projects' test fixtures) imported through the upload page, each into a
trust account kept in the file's currency and ending in the file's account number.

The files themselves are other projects' test data and are not kept in this repository (the workplace keeps data
brought from public repositories out of developers' commits, in the steering repository's shared/ folder): the test
reads them from $TRUSTWEB_STATEMENT_CORPUS, or else ../shared/statements beside the checkout, and is skipped, saying
so, where neither holds them. tests/fixtures/statements/README.md lists each file with its source and licence.

What each file should give is in expected.json, worked out without our reader (README.md there says how): its lines
and their total in cents, or the refusal it earns and the words that must name the cause. A CSV the reader cannot
read yet carries "refused_for_now" (what it says today) beside the lines and total it should give later: delete
that key when the reader learns the file. A CSV is imported as a person does it: sent, shown as it will be read,
confirmed; what the file does not carry (the ending balance) is asked for at Confirm.
"""

import html
import io
import json
import os
import re
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import csrf_token
from tests.factories import gen_account, gen_user
from trustweb.extensions import db
from trustweb.models import BankStatement, StatementLine

HERE = Path(__file__).parent.parent / "fixtures" / "statements"  # expected.json and README.md: our own
EXPECTED = json.loads((HERE / "expected.json").read_text(encoding="utf-8"))
SHARED = Path(__file__).resolve().parents[3] / "shared" / "statements"
CORPUS = Path(os.environ.get("TRUSTWEB_STATEMENT_CORPUS") or SHARED)
if not (CORPUS / EXPECTED[0]["file"]).is_file():
    pytest.skip(
        f"the real banks' statement files are not here ({CORPUS}): set TRUSTWEB_STATEMENT_CORPUS to their folder"
        " (tests/fixtures/statements/README.md lists them with their sources)",
        allow_module_level=True,
    )
ASKED = {"ending_balance": "ending balance", "period_end": "end date"}


def upload(client, account_id, case, **fields):
    """The file sent with its columns; a CSV comes back as it will be read, and its Confirm is pressed."""
    data = (CORPUS / case["file"]).read_bytes()

    def send(**more):
        form = {"csrf_token": csrf_token(client), "source": case["source"], "file": (io.BytesIO(data), case["file"])}
        form.update(case.get("mapping", {}), **fields, **more)
        url = f"/reconciliations/accounts/{account_id}/import"
        return client.post(url, data=form, content_type="multipart/form-data")

    response = send()
    token = re.search(r'name="confirm" value="(\w+)"', response.get_data(as_text=True))
    if response.status_code == 200 and token:
        return send(confirm=token.group(1))
    return response


def page(response):
    """The page's text as a person reads it (its apostrophes are &#39; in the HTML)."""
    return html.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("case", EXPECTED, ids=[case["file"] for case in EXPECTED])
def test_a_real_banks_file(app, client, auth, case):
    """Imported with the lines and total the file holds, or refused with a 4xx whose message names the cause."""
    with app.app_context():
        account = gen_account(currency=case["currency"], account_last4=case["account_last4"]).id
        bookkeeper = gen_user("bookkeeper")
    auth.login_as(bookkeeper)
    asks = case.get("asks", {})
    refusal = case.get("refused_for_now") or case.get("refused")
    if asks and not refusal:
        asked = upload(client, account, case)
        assert asked.status_code == 422, "the file does not carry it: the page asks for it"
        assert all(ASKED[key] in page(asked) for key in asks)
    response = upload(client, account, case, **asks)
    if refusal:
        assert 400 <= response.status_code < 500
        assert refusal in page(response)
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(BankStatement)) == 0
        return
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    with app.app_context():
        statement = db.session.scalars(select(BankStatement)).one()
        total = db.session.scalar(
            select(func.coalesce(func.sum(StatementLine.amount_cents), 0)).where(
                StatementLine.statement_id == statement.id
            )
        )
        assert (statement.line_count, total) == (case["lines"], case["total_cents"])


def test_the_corpus_is_listed_whole():
    """Every file kept has its expectation and its line in the README (source, licence), and nothing else is."""
    kept = {str(path.relative_to(CORPUS)) for path in CORPUS.glob("*/*")}
    assert kept == {case["file"] for case in EXPECTED}
    readme = (HERE / "README.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in readme for name in kept)
    assert len(kept) >= 25 and len(Counter(case["format"] for case in EXPECTED)) >= 4


def figures():
    """Accepted and refused by format, as the issue asks them reported (python -m tests.reconcile.test_corpus)."""
    counts: Counter[tuple[str, str]] = Counter()
    for case in EXPECTED:
        outcome = "refused for now" if "refused_for_now" in case else "refused" if "refused" in case else "imported"
        counts[(case["format"], outcome)] += 1
    return counts


if __name__ == "__main__":
    for (kind, outcome), count in sorted(figures().items()):
        print(f"{kind:20} {outcome:16} {count}")
    imported = sum(count for (_, outcome), count in figures().items() if outcome == "imported")
    print(f"imported {imported} of {len(EXPECTED)} ({imported / len(EXPECTED):.1%}); refused, and why:")
    for case in EXPECTED:
        if "refused" in case or "refused_for_now" in case:
            print(f"  {case['file']}: {case.get('refused_for_now') or case['refused']}")
