"""One SMTP session for `send` (SPEC §10.4): where and how to connect, the login, and a
connection that reconnects after it was lost and caps every reply of a hostile server
(its lines, its bytes, its time), so that no server can fill memory or hold `send` forever."""

from __future__ import annotations

import smtplib
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

from ..errors import UserError

DEFAULT_PORTS = {"plain": 25, "starttls": 587, "ssl": 465}
# A server's reply is read line by line (smtplib caps a line at 8192 bytes); these cap a whole
# reply, so that a server sending continuation lines forever cannot fill memory or hold `send`.
MAX_REPLY_LINES = 1000
MAX_REPLY_BYTES = 64 * 1024


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to connect. The password is kept out of repr(), so out of any log line."""

    host: str
    port: int
    security: str = "plain"  # plain | starttls | ssl
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False)  # tests trust their own CA

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_server(text: str, security: str) -> tuple[str, int]:
    """HOST[:PORT] (IPv6 in brackets) -> (host, port); the port defaults by security."""
    host, port = text, None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or None
    elif text.count(":") == 1:
        host, port = text.split(":")
    if not host or (port is not None and not port.isdigit()):
        raise UserError(f"--smtp {text!r}: give HOST or HOST:PORT, e.g. mail.example.com:587")
    return host, int(port) if port else DEFAULT_PORTS[security]


def check_login(user: str | None, password: str | None) -> None:
    """SMTP login (smtplib's AUTH PLAIN, LOGIN, CRAM-MD5) carries ASCII only: say so before connecting."""
    if user is not None and not user.isascii():
        raise UserError("--user: the user name holds characters other than ASCII, which SMTP login cannot "
                        "send; nothing was sent: give the account's ASCII login name")
    if password is not None and not password.isascii():
        raise UserError("--password-env: the password in that variable holds characters other than ASCII, "
                        "which SMTP login cannot send; nothing was sent: use an ASCII password for this account")


def reply_text(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(text.split())}"


class Connection:
    """One SMTP session, opened on first use and again after it was lost."""

    def __init__(self, server: SmtpServer):
        self.server = server
        self.smtp: smtplib.SMTP | None = None
        self.closing: str | None = None  # why the server ended the session for good (421, runaway reply)
        self.reached = False  # whether the latest attempt to connect got a session
        self.reused = False   # whether get() handed out the session of an earlier letter

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self.smtp = None

    def get(self) -> smtplib.SMTP:
        self.reused = self.smtp is not None
        if self.smtp is None:
            self.reached = False
            self.smtp = connect(self.server)
            self.reached = True
        return self.smtp

    def reset(self) -> None:
        """RSET after a refusal, so the next letter starts a clean transaction."""
        if self.smtp is None:  # the refusal came while connecting: nothing to reset
            return
        try:
            self.smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.drop()

    @property
    def message_out(self) -> bool:
        """Whether the whole message went out and the server has not answered it yet."""
        return self.smtp is not None and self.smtp.message_out

    def drop(self) -> None:
        if self.smtp is not None:
            self.smtp.close()
        self.smtp = None


def connect(server: SmtpServer) -> smtplib.SMTP:
    """A session ready for MAIL: connected, encrypted as asked, logged in when a user is given.

    A server that refuses STARTTLS or the login stops `send` with exit 2: retrying cannot help.
    """
    check_login(server.user, server.password)
    context = server.ssl_context or ssl.create_default_context()
    if server.security == "ssl":
        smtp = CappedSMTP_SSL(server.host, server.port, timeout=server.timeout, context=context)
    else:
        smtp = CappedSMTP(server.host, server.port, timeout=server.timeout)
    try:
        code, text = smtp.ehlo()
        if code == 421:  # closing at once: transmit() stops `send` on it
            raise smtplib.SMTPResponseException(code, text)
        if server.security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if server.user:
            smtp.login(server.user, server.password or "")
    except smtplib.SMTPNotSupportedError as exc:
        smtp.close()
        raise UserError(f"{server.address}: the server does not support {exc}; "
                        f"try --ssl or another port") from None
    except smtplib.SMTPAuthenticationError as exc:
        smtp.close()
        raise UserError(f"{server.address}: the server refused the login of user {server.user!r} "
                        f"({reply_text(exc.smtp_code, exc.smtp_error)}); check --user and the password variable") from None
    except BaseException:
        smtp.close()
        raise
    return smtp


class ReplyTooLong(smtplib.SMTPException):
    """A server reply beyond MAX_REPLY_LINES, MAX_REPLY_BYTES, a line of 8192 bytes or the timeout."""


class _CappedReplies:
    """smtplib's getreply() with the whole reply capped: its lines, its bytes and its time; and
    `message_out`, true from the moment the whole message with its final dot went out until
    the server's reply to it came in."""

    message_out = False

    def send(self, s: bytes | str) -> None:
        # smtplib's data() hands the whole message, ending in CRLF.CRLF, to one send(); from then
        # on the server may deliver it, whether or not its answer ever reaches us (RFC 1047)
        self.message_out = False
        super().send(s)
        self.message_out = isinstance(s, bytes) and s.endswith(b"\r\n.\r\n")

    def getreply(self) -> tuple[int, bytes]:
        if self.file is None:
            self.file = self.sock.makefile("rb")
        started, size, lines = time.monotonic(), 0, []
        timeout = self.timeout if isinstance(self.timeout, (int, float)) else None
        while True:
            try:
                line = self.file.readline(smtplib._MAXLINE + 1)
            except OSError as exc:
                self.close()
                raise smtplib.SMTPServerDisconnected(f"Connection unexpectedly closed: {exc}") from None
            if not line:
                self.close()
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
            size += len(line)
            if len(line) > smtplib._MAXLINE or size > MAX_REPLY_BYTES or len(lines) >= MAX_REPLY_LINES \
                    or (timeout is not None and time.monotonic() - started > timeout):
                self.close()
                raise ReplyTooLong(f"the server's reply went beyond {MAX_REPLY_LINES} lines, "
                                   f"{MAX_REPLY_BYTES // 1024} KiB or {timeout} s")
            lines.append(line[4:].strip(b" \t\r\n"))
            try:
                code = int(line[:3])
            except ValueError:  # no SMTP reply: said whole, not cut after a code it lacks
                return -1, b"\n".join(lines[:-1] + [line.strip(b" \t\r\n")])
            if line[3:4] != b"-":
                self.message_out = False
                return code, b"\n".join(lines)


class CappedSMTP(_CappedReplies, smtplib.SMTP):
    pass


class CappedSMTP_SSL(_CappedReplies, smtplib.SMTP_SSL):
    pass
