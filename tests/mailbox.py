"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for tests that read their email."""

import email
import re
import socket
import threading
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

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def start(self):
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def clear(self):
        with self._lock:
            self.messages.clear()

    def to(self, address):
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
