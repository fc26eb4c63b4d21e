"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for tests that read their email.

In production the worker delivers the outbox within seconds of a request. Here, an app served with
`mailbox.serve(app)` has its due emails delivered (by the worker's own delivery function) each time a test
reads someone's mail with `to()`, as they would have been by the time a client opened their inbox. Tests of
the outbox itself read `messages` and run the worker explicitly.
"""

import asyncio
import email
import re
import socket
import threading
from contextlib import contextmanager, suppress
from email import policy

from aiosmtpd.controller import Controller

PAY_LINK = re.compile(r"https?://[^\s\"<>]+/pay/[A-Za-z0-9_-]+")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """Messages received, as email.message.EmailMessage objects, newest last."""

    def __init__(self):
        self.messages = []
        self.port = free_port()
        self.controller = None
        self._lock = threading.Lock()
        self._app = None
        self.stall_on_quit = 0  # seconds the server keeps silent after QUIT (one that hangs up badly)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        """Addresses at nowhere.example do not exist: refused for good, as a real server does."""
        if address.endswith("@nowhere.example"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_QUIT(self, server, session, envelope):
        if self.stall_on_quit:
            await asyncio.sleep(self.stall_on_quit)
        return "221 Bye"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def start(self):
        if self.controller is not None:
            return  # already up
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def clear(self):
        with self._lock:
            self.messages.clear()
        self.stall_on_quit = 0

    @contextmanager
    def serve(self, app):
        """While inside, reading the mail with to() first lets the worker deliver what is due for this app."""
        self._app = app
        try:
            yield self
        finally:
            self._app = None
        self.stall_on_quit = 0  # seconds the server keeps silent after QUIT (one that hangs up badly)

    def deliver(self):
        """One worker pass over the outbox, as many rounds as it takes to empty what is due."""
        if self._app is None:
            return
        from trustweb.services.delivery import deliver_due

        with self._app.app_context():
            while deliver_due(limit=100).handled:
                pass

    def to(self, address):
        self.deliver()
        return [m for m in self.messages if address in (m["To"] or "")]

    @staticmethod
    def text(message):
        return message.get_body(preferencelist=("plain",)).get_content()

    @staticmethod
    def html(message):
        part = message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else None

    def pay_link(self, message):
        """The pay link in a message's plain-text part."""
        match = PAY_LINK.search(self.text(message))
        assert match, f"no pay link in: {self.text(message)}"
        return match.group(0)

    def config(self):
        return {"MAIL_SUPPRESS_SEND": False, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": self.port, "MAIL_TIMEOUT": 5}


class StallingServer:
    """A mail server that accepts each connection and then says nothing until released; released, it passes each
    connection through to the real one (the mailbox), so what was held up is delivered then."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.released = threading.Event()
        self.closed = threading.Event()
        self.connections = 0

    def __enter__(self):
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.closed.set()
        self.released.set()
        self.listener.close()

    def release(self):
        self.released.set()

    def _accept(self):
        while not self.closed.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._hold_then_pass, args=(conn,), daemon=True).start()

    def _hold_then_pass(self, conn):
        self.released.wait()
        if self.closed.is_set():
            conn.close()
            return
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        for source, sink in ((conn, upstream), (upstream, conn)):
            threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()


def _pipe(source, sink):
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
