"""A report as a CSV file for Excel: the same figures as its page, streamed row by row (the Reports tab's and the
client portal's statements alike)."""

import csv
import io
from collections.abc import Mapping

from flask import Response, stream_with_context

from trustweb.ledger.money import plain_cents
from trustweb.models.base import utcnow
from trustweb.services import reports
from trustweb.templating import firm, firm_clock


def described(filters):
    """The filters in words, for the printed header and the CSV."""
    parts = []
    if filters.as_of:
        parts.append(f"as of {filters.as_of.isoformat()}")
    if filters.date_from or filters.date_to:
        start = filters.date_from.isoformat() if filters.date_from else "the beginning"
        end = filters.date_to.isoformat() if filters.date_to else "today"
        parts.append(f"from {start} to {end}")
    if filters.account:
        parts.append(filters.account.name)
    if filters.lawyer:
        parts.append(f"lawyer {filters.lawyer.name}")
    if filters.matter:
        parts.append(f"matter {filters.matter.number}")
    elif filters.contact:
        parts.append(f"{filters.contact.name}, client funds")
    if filters.status:
        parts.append(f"status {filters.status.replace('_', ' ')}")
    return "; ".join(parts) or "everything"


def cell(value, kind):
    """A value as the CSV writes it: plain decimals for money (amounts of several currencies each with its own:
    "1000.00 USD; 250.00 CAD"), ISO dates, nothing for none."""
    if value is None:
        return ""
    if kind == "money" and isinstance(value, Mapping):
        return "; ".join(f"{plain_cents(cents)} {currency}" for currency, cents in value.items()) or "0.00"
    if kind == "money":
        return plain_cents(value)
    if kind == "date":
        return value.isoformat()
    if isinstance(value, str):
        return reports.spreadsheet_text(value)
    return value


def csv_response(report, filters, filename):
    """The report as a CSV file, streamed row by row: UTF-8 with a BOM so Excel reads it as UTF-8."""

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)

        def flush():
            chunk = buffer.getvalue()
            buffer.seek(0)
            buffer.truncate(0)
            return chunk

        yield "\ufeff"
        safe = reports.spreadsheet_text
        writer.writerow([safe(report.title)])
        writer.writerow(["Firm", safe(firm().firm_name)])
        writer.writerow(["Filters", safe(described(filters))])
        writer.writerow(["Generated at", firm_clock(utcnow(), zone=True)])
        for label, value, kind in report.summary:
            writer.writerow([label, cell(value, kind)])
        writer.writerow([])
        writer.writerow([column.label for column in report.columns])
        yield flush()
        if report.csv_batches is not None:
            for batch in report.csv_batches:
                writer.writerows(batch)
                yield flush()
        else:
            for count, row in enumerate(report.rows, start=1):
                writer.writerow([cell(row.get(column.key), column.kind) for column in report.columns])
                if count % 1_000 == 0:
                    yield flush()
        if report.totals:
            writer.writerow(
                ["Total"]
                + [
                    cell(report.totals.get(column.key), column.kind) if column.kind == "money" else ""
                    for column in report.columns[1:]
                ]
            )
        for currency, totals in report.totals_by_currency.items():  # rows of several currencies: one total each
            writer.writerow(
                [f"Total {currency}"]
                + [
                    currency
                    if column.key == "currency"
                    else cell(totals.get(column.key), column.kind)
                    if column.kind == "money"
                    else ""
                    for column in report.columns[1:]
                ]
            )
        for title, columns, rows in report.groups:
            writer.writerow([])
            writer.writerow([safe(title)])
            writer.writerow([column.label for column in columns])
            for row in rows:
                writer.writerow([cell(row.get(column.key), column.kind) for column in columns])
        yield flush()

    return download(generate(), "text/csv; charset=utf-8", filename)


def download(chunks, content_type, filename):
    """A file streamed to the browser as it is made, to be saved under the filename."""
    response = Response(stream_with_context(chunks), content_type=content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def table_csv(batches):
    """Batches of rows as CSV text, a batch at a time: UTF-8 with a BOM so Excel reads it as UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"
    for batch in batches:
        writer.writerows(batch)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
