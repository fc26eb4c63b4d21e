"""What bench/http_pages.py and bench/payments.py share: a throwaway database holding the demo firm, gunicorn servers on
loopback ports that are stopped on the way out (an error, Ctrl+C or SIGTERM included), and a browser's visit over
HTTP (cookies, CSRF tokens, a sign-in).
"""

import html
import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import NoReturn

from sqlalchemy import create_engine, make_url, text

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
USER_AGENT = "trustweb-bench"  # the same on sign-in and under load: the session is bound to it ("strong")
ERRORS = re.compile(r'role="alert">(.*?)</div>|<p class="error"[^>]*>(.*?)</p>', re.S)
TAGS = re.compile(r"<[^>]+>")


class BenchError(Exception):
    """The bench cannot go on; the message says why."""


def run_bench(main: Callable[[], int]) -> NoReturn:
    """Run a bench's main() and exit with its status. SIGTERM and SIGHUP unwind it as Ctrl+C does, so every server
    it started is stopped and its database removed; a BenchError ends it with its message."""

    def leave(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, leave)
    signal.signal(signal.SIGHUP, leave)
    name = f"bench/{Path(sys.argv[0]).name}"
    try:
        sys.exit(main())
    except BenchError as error:
        sys.exit(f"{name}: {error}")
    except KeyboardInterrupt:
        print(f"{name}: interrupted; the servers it started are stopped, its database removed", file=sys.stderr)
        sys.exit(130)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Database:
    """A database for one bench run: the environment its servers and commands get, and what it is."""

    url: str
    where: str
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def env(self, base_url: str = "http://127.0.0.1:8000") -> dict[str, str]:
        """The app's settings for this run, and none of the caller's own TRUSTWEB_* ones."""
        env = {name: value for name, value in os.environ.items() if not name.startswith("TRUSTWEB_")}
        env.update(
            TRUSTWEB_DATABASE_URL=self.url,
            TRUSTWEB_SECRET_KEY=self.secret_key,  # the same for every worker, and nothing written to instance/
            TRUSTWEB_BASE_URL=base_url,
            TRUSTWEB_RATELIMIT_ENABLED="false",  # one address sends everything: see past the flood limits
        )
        return env

    def flask(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run `flask --app wsgi ...` on this database; its output, or BenchError with it."""
        done = subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise BenchError(f"flask {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        return done


@contextmanager
def database(pg_url: str | None) -> Iterator[Database]:
    """An empty database: a temporary SQLite file, or a new schema of the PostgreSQL database at pg_url (its
    connections set search_path through the URL); removed or dropped at the end."""
    if not pg_url:
        with tempfile.TemporaryDirectory(prefix="trustweb-bench-") as tmp:
            yield Database(f"sqlite:///{tmp}/bench.sqlite3", "SQLite (temporary file, WAL)")
        return
    schema = f"tw_bench_{uuid.uuid4().hex[:12]}"
    url = make_url(pg_url).update_query_dict({"options": f"-csearch_path={schema}"})
    admin = create_engine(make_url(pg_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield Database(url.render_as_string(hide_password=False), f"PostgreSQL (schema {schema}, dropped afterwards)")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def load_demo(db: Database) -> list[str]:
    """The schema through the migrations, then `flask trustweb demo`; the paths of the pay links it printed."""
    db.flask("db", "upgrade")
    printed = db.flask("trustweb", "demo").stdout
    return [urllib.parse.urlsplit(url).path for url in re.findall(r"https?://\S+/pay/\S+", printed)]


@contextmanager
def gunicorn(app: str, env: dict[str, str], workers: int, log: Path) -> Iterator[str]:
    """`gunicorn -w <workers>` (sync) serving app on a free loopback port; yields its base URL and stops the
    server, workers included, when the block ends however it ends."""
    port = free_port()
    command = [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    command += ["--worker-class", "sync", "--log-file", str(log), app]
    # A session of its own: Ctrl+C reaches the bench, which then stops the server in order.
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until_serving(port, server, log, workers)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(server)


@contextmanager
def worker(env: dict[str, str], log: Path) -> Iterator[None]:
    """`flask trustweb worker` beside the server, as `make run` and a production server run it (it seals the audit
    trail's waiting events and keeps the outbox); stopped when the block ends however it ends."""
    with log.open("w") as out:
        command = [str(BIN / "flask"), "--app", "wsgi", "trustweb", "worker"]
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while "running" not in log.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"the worker did not start ({process.returncode}):\n{tail(log)}")
            time.sleep(0.1)
        yield
    finally:
        stop(process)


def wait_until_serving(port: int, server: subprocess.Popen[bytes], log: Path, workers: int) -> None:
    """Until every worker has booted and the server answers over HTTP (60 s at most)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchError(f"gunicorn stopped ({server.returncode}):\n{tail(log)}")
        booted = log.exists() and log.read_text().count("Booting worker") >= workers
        if booted:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", "/", headers={"User-Agent": USER_AGENT})
                conn.getresponse().read()
                conn.close()
                return
            except OSError:
                pass
        time.sleep(0.1)
    raise BenchError(f"gunicorn did not answer on port {port} within 60 s:\n{tail(log)}")


def stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (master and workers), SIGKILL if it is not gone in 15 s."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            break
        try:
            server.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue


def tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text().splitlines()[-lines:]) if log.exists() else "(no log)"


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: str

    @property
    def location(self) -> str:
        return urllib.parse.urlsplit(self.headers.get("Location", "")).path

    def hidden(self, name: str) -> str | None:
        found = re.search(rf'name="{name}" type="hidden" value="([^"]+)"', self.body)
        return html.unescape(found.group(1)) if found else None

    def errors(self) -> str:
        """What the page says went wrong, as plain text."""
        said = [" ".join(TAGS.sub(" ", a or b).split()) for a, b in ERRORS.findall(self.body)]
        return "; ".join(html.unescape(s) for s in said if s) or self.body[:200].replace("\n", " ")


class Browser:
    """One visitor over HTTP: keeps the cookies it is given and sends them back, as a browser would."""

    def __init__(self, base_url: str, timeout: float = 120):
        parts = urllib.parse.urlsplit(base_url)
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Response:
        headers = {"User-Agent": USER_AGENT}
        if self.cookies:
            headers["Cookie"] = self.cookie_header()
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            content = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            self.conn.close()  # the next request opens a new connection
            raise
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if value and "expires=thu, 01 jan 1970" not in cookie.lower():
                self.cookies[name.strip()] = value
            else:
                self.cookies.pop(name.strip(), None)
        if response.will_close:
            self.conn.close()  # gunicorn's sync workers close every connection
        return Response(response.status, response.headers, content)

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, str]) -> Response:
        return self.request("POST", path, form)

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def close(self) -> None:
        self.conn.close()


def sign_in(browser: Browser, email: str, password: str) -> None:
    """Through the sign-in form, with the CSRF token the page gives, as a person would."""
    page = browser.get("/auth/login")
    token = page.hidden("csrf_token")
    if page.status != 200 or token is None:
        raise BenchError(f"the sign-in page answered {page.status} without a CSRF token")
    done = browser.post("/auth/login", {"email": email, "password": password, "csrf_token": token})
    if done.status != 303:
        raise BenchError(f"signing in as {email} answered {done.status}: {done.errors()}")
