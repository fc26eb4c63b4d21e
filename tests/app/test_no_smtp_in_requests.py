"""No web request talks to the mail server: only the worker (services/delivery.py) may open an SMTP connection."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "trustweb"
# The one module that sends, the worker and the cron command that call it, and where Flask-Mail is set up.
SENDERS = {"services/delivery.py", "worker.py", "cli.py", "extensions.py"}


def imported_names(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def test_only_the_worker_reaches_the_mail_server():
    reaching = {}
    for path in PACKAGE.rglob("*.py"):
        name = path.relative_to(PACKAGE).as_posix()
        if name in SENDERS:
            continue
        names = set(imported_names(path))
        found = {n for n in names if n.startswith(("smtplib", "flask_mail", "trustweb.services.delivery"))}
        found |= {n for n in names if n in ("trustweb.services.delivery", "trustweb.worker")}
        if found:
            reaching[name] = sorted(found)
    assert reaching == {}
