"""Sending e-mail: SMTP over verified TLS, or `.eml` files in an outbox folder when no server is set
(docs/architecture.md#sending-mail).

    transport(app)          the configured channel: `Smtp` (TRIGGER_SMTP_URL) or `Outbox`
    channel.send(msg, name) deliver one `EmailMessage`; the outbox returns the file it wrote (`name`
                            and a digest of the Message-ID), SMTP None
    channel.close()         end the SMTP session
    sender()                the From address (TRIGGER_MAIL_FROM; refused when unset under SMTP)
    classify(exc)           a failed send as a `Failure`: permanent (a 5xx refusal of the message) or not

Settings, all read from the environment:

- `TRIGGER_SMTP_URL`: `smtp://[user[:password]@]host[:port][?starttls=1][&auth=xoauth2]`, or `smtps://`
  for TLS from the first byte. STARTTLS and SMTPS verify the certificate and the host name against the
  system's trust store (`ssl.create_default_context()`); `TRIGGER_SMTP_CAFILE` adds a CA file. A
  certificate that does not verify means nothing is sent: there is no plain-text fallback, and a URL that
  asks for STARTTLS fails when the server does not offer it.
- `auth=xoauth2` logs in with OAuth 2.0 (Office 365, Gmail): the access token is what the command in
  `TRIGGER_SMTP_TOKEN_CMD` prints, fetched afresh for each connection; or, for Office 365, the app's own
  client credentials (`TRIGGER_SMTP_TENANT`, `TRIGGER_SMTP_CLIENT_ID`, `TRIGGER_SMTP_CLIENT_SECRET`,
  the `office365` extra: Microsoft's msal). Without it, a user and password in the URL log in with the
  best mechanism the server offers (smtplib's `login`).
- `TRIGGER_SMTP_TIMEOUT` (seconds, default 30): the longest one message may take, connection included.
  A watchdog cuts the connection when it is exceeded, so a caller holding a claim on the message knows
  the send is over before its claim runs out.
- `TRIGGER_MAIL_FROM`: the From address. `TRIGGER_OUTBOX`: the outbox folder (default `outbox` in the
  data directory).
"""

from __future__ import annotations

import errno
import glob
import hashlib
import ipaddress
import os
import shlex
import smtplib
import socket
import ssl
import stat
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import policy as email_policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import make_msgid, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from trigger import settings
from trigger.errors import DeliveryFailed, InvalidInput, MissingDependency
from trigger.store.app import App, data_dir

DEFAULT_TIMEOUT = 30.0
MICROSOFT_LOGIN = "https://login.microsoftonline.com"
EXCHANGE_SCOPE = "https://outlook.office365.com/.default"  # SMTP AUTH for an app (client credentials)
CONNECT_TIMEOUT = 8.0  # a connection that hangs cannot be cut, so it is given less time
OUTBOX_FROM = "community-trigger@localhost"


class MailError(Exception):
    """A send that failed for a reason worth one clear line (certificate, login, token, STARTTLS)."""


class BadAddress(ValueError):
    """A recipient that is not an e-mail address: no server will ever take it."""


class Refused(Exception):
    """A delivery service refused the message itself (GOV.UK Notify's 400): sending it again cannot help."""


# -- settings -----------------------------------------------------------------------------------------


def outbox_dir() -> Path:
    return Path(os.environ.get("TRIGGER_OUTBOX") or data_dir() / "outbox")


OVERRAN = "it took longer than the time allowed"  # why a send was cut off at its time limit


def timeout() -> float:
    return settings.seconds(
        "TRIGGER_SMTP_TIMEOUT", DEFAULT_TIMEOUT, lambda v: 0 < v <= 600, "between 0 and 600"
    )


@lru_cache(maxsize=4096)
def valid_address(text: str) -> bool:
    """An address a header may carry: one mailbox with a local part and a domain, no line breaks."""
    if not text or any(c in text for c in "\r\n\0"):
        return False
    _name, addr = parseaddr(text)
    local, _, domain = addr.rpartition("@")
    return bool(local) and bool(domain) and " " not in addr


def sender(smtp: bool | None = None) -> str:
    """TRIGGER_MAIL_FROM. Under SMTP it must be set (a server and the people reading need a real
    address); the outbox may do without."""
    if smtp is None:
        smtp = bool(os.environ.get("TRIGGER_SMTP_URL"))
    text = (os.environ.get("TRIGGER_MAIL_FROM") or "").strip()
    if not text:
        if smtp:
            raise InvalidInput(
                "TRIGGER_MAIL_FROM is not set: mail sent by SMTP needs a From address, e.g. "
                "TRIGGER_MAIL_FROM='Community Safety <community.safety@council.gov.uk>'"
            )
        return OUTBOX_FROM
    if not valid_address(text):
        raise InvalidInput(f"TRIGGER_MAIL_FROM {text!r} is not an e-mail address such as csp@council.gov.uk")
    return text


@lru_cache(maxsize=64)
def domain_of(address: str) -> str:
    """The domain for Message-IDs: the From address's own."""
    return parseaddr(address)[1].rpartition("@")[2] or "localhost"


# -- failures -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """A send that did not happen: `permanent` when the server refused the message itself (5xx to
    MAIL FROM, RCPT TO or DATA), else temporary (no connection, a timeout, 4xx, TLS, login)."""

    permanent: bool
    text: str


def classify(exc: BaseException) -> Failure:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        text = "; ".join(
            f"{addr}: {code} {_decode(msg)}" for addr, (code, msg) in sorted(exc.recipients.items())
        )
        return Failure(bool(codes) and all(c >= 500 for c in codes), f"refused {text}")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return Failure(False, f"login refused: {exc.smtp_code} {_decode(exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPResponseException):
        message_level = isinstance(exc, smtplib.SMTPSenderRefused | smtplib.SMTPDataError)
        return Failure(message_level and exc.smtp_code >= 500, f"{exc.smtp_code} {_decode(exc.smtp_error)}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Failure(
            False,
            f"the server's certificate did not verify ({exc.verify_message or exc.reason}); nothing was "
            "sent (set TRIGGER_SMTP_CAFILE to the CA that signed it if the server is yours)",
        )
    if isinstance(exc, ssl.SSLError):
        return Failure(False, f"TLS failed ({exc.reason or exc}); nothing was sent")
    if isinstance(exc, TimeoutError | socket.timeout):
        return Failure(False, "timed out waiting for the mail server")
    if isinstance(exc, ConnectionRefusedError):
        return Failure(False, "connection refused by the mail server")
    if isinstance(exc, MailError):
        return Failure(False, str(exc))
    if isinstance(exc, BadAddress | Refused):
        return Failure(True, str(exc))
    if isinstance(exc, smtplib.SMTPException | OSError):
        return Failure(False, f"{type(exc).__name__}: {exc}")
    return Failure(False, f"{type(exc).__name__}: {exc}")


SEND_ERRORS = (smtplib.SMTPException, OSError, MailError, BadAddress, Refused)


@contextmanager
def sending(channel: Smtp | Outbox | Any, failed: Callable[[str], str]) -> Iterator[None]:
    """Send inside this block, then close `channel`; a send that did not happen is `DeliveryFailed`,
    worded by `failed` from the reason (`classify`)."""
    try:
        yield
    except SEND_ERRORS as exc:
        raise DeliveryFailed(failed(classify(exc).text)) from None
    finally:
        channel.close()


def _decode(value: object) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return " ".join(text.split())


# -- Office 365 by the app's client credentials ----------------------------------------------------------


def _app_credentials() -> tuple[str, str, str, str] | None:
    """(authority, tenant, client id, secret) when any is set; all three are then required."""
    names = ("TRIGGER_SMTP_TENANT", "TRIGGER_SMTP_CLIENT_ID", "TRIGGER_SMTP_CLIENT_SECRET")
    values = [(os.environ.get(n) or "").strip() for n in names]
    if not any(values):
        return None
    missing = [n for n, v in zip(names, values, strict=True) if not v]
    if missing:
        raise InvalidInput(f"Office 365 client credentials need {', '.join(missing)} too")
    authority = (os.environ.get("TRIGGER_SMTP_AUTHORITY") or MICROSOFT_LOGIN).strip().rstrip("/")
    return authority, *values  # type: ignore[return-value]


def _msal_app(authority: str, tenant: str, client_id: str, secret: str, *, timeout: float):
    try:
        import msal
    except ModuleNotFoundError as exc:
        if exc.name != "msal":
            raise
        raise MissingDependency(
            "Office 365 client credentials need Microsoft's msal; install the office365 extra: "
            "pip install 'community-trigger[office365]'"
        ) from None
    try:
        return msal.ConfidentialClientApplication(
            client_id,
            client_credential=secret,
            authority=f"{authority}/{tenant}",
            instance_discovery=False,  # the authority is given: no look-up of other clouds
            timeout=timeout,
        )
    except ValueError as exc:
        raise InvalidInput(f"TRIGGER_SMTP_AUTHORITY or TRIGGER_SMTP_TENANT: {exc}") from None


def _app_token(app) -> str:
    """An access token for SMTP from Microsoft's identity platform (msal caches it until it expires)."""
    try:
        result = app.acquire_token_for_client(scopes=[EXCHANGE_SCOPE])
    except (OSError, ValueError) as exc:
        raise MailError(f"Microsoft sign-in could not be reached: {type(exc).__name__}") from None
    token = result.get("access_token")
    if not token:
        why = (str(result.get("error_description") or "").strip().splitlines() or [""])[0][:200]
        raise MailError(f"Microsoft sign-in refused the app's credentials ({result.get('error')}): {why}")
    return token


# -- the outbox ---------------------------------------------------------------------------------------


class Outbox:
    """No SMTP server configured: each message becomes an .eml file in the outbox folder (0600), under a
    name of its own (`name`, then a digest of its Message-ID) created exclusively, so that a message is
    never written over another: not another database's sharing the folder, not one written before a
    database was made again (docs/operations.md#the-outbox)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.mail_from = sender(smtp=False)

    def describe(self) -> str:
        return f"outbox {self.folder}"

    @staticmethod
    def safe_name(name: str) -> str:
        return "".join(c if c.isalnum() or c in "-_." else "-" for c in name)

    @classmethod
    def file_name(cls, name: str, message_id: str) -> str:
        """The file a message is written to: its name, then the first 16 hex digits of the sha256 of its
        Message-ID (unique to the message: a random part and the moment it was made)."""
        digest = hashlib.sha256(message_id.strip().encode("utf-8", "surrogateescape")).hexdigest()[:16]
        return f"{cls.safe_name(name)[:120]}-{digest}.eml"

    def send(self, msg: EmailMessage, name: str) -> str:
        """Write the message and return the name of the file it is in (the engine records it). The bytes
        go to a temporary file first and are linked into place: a reader never sees half a message, and
        a file already there is never replaced (another is chosen)."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not msg["Message-ID"]:
            msg["Message-ID"] = make_msgid(domain=domain_of(self.mail_from))
        target = self.file_name(name, str(msg["Message-ID"]))
        data = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))  # mail's line ends (RFC 5322)
        tmp = self.folder / f".{target[:-4]}.{uuid.uuid4().hex[:8]}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            for n in range(1, 100):
                chosen = target if n == 1 else f"{target[:-4]}-{n}.eml"
                try:
                    _place(tmp, self.folder / chosen, data)
                    return chosen
                except FileExistsError:
                    continue
            raise FileExistsError(errno.EEXIST, "no free name in the outbox", str(self.folder / target))
        finally:
            tmp.unlink(missing_ok=True)

    def discard(self, files: list[str]) -> int:
        """Remove these files (names `send` returned) and any half-written copy of them, their bytes
        overwritten first: a purged case's letters and reminders (docs/operations.md#erasure). A name
        with a folder in it is ignored. Returns how many files went."""
        gone = 0
        for name in files:
            if not name or Path(name).name != name or name.startswith("."):
                continue
            stem = name[:-4] if name.endswith(".eml") else name
            for path in [self.folder / name, *self.folder.glob(f".{glob.escape(stem)}.*.tmp")]:
                if _wipe(path):
                    gone += 1
        return gone

    def names(self, pattern: str) -> list[str]:
        """The names of the messages in the folder matching a glob pattern."""
        return sorted(p.name for p in self.folder.glob(pattern) if not p.name.startswith("."))

    def read(self, name: str) -> EmailMessage | None:
        """The headers of an outbox file (None when it is not there, or is not a regular file)."""
        path = self.folder / name
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return None
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return None
            parsed = BytesHeaderParser(policy=email_policy.default).parse(f)
        return parsed

    def limit(self, seconds: float) -> None:
        pass

    def abort(self) -> None:
        pass

    def close(self) -> None:
        pass


def _place(tmp: Path, path: Path, data: bytes) -> None:
    """Put the written file at `path`, which must not exist (FileExistsError): a hard link, or on a file
    system without them the file created exclusively and written again."""
    try:
        os.link(tmp, path)
        return
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def _wipe(path: Path) -> bool:
    """Overwrite a regular file with zeros and remove it (a link is removed, its target left alone)."""
    try:
        fd = os.open(path, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return False
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        path.unlink(missing_ok=True)
        return True
    with os.fdopen(fd, "r+b") as out:
        size = os.fstat(out.fileno()).st_size
        out.write(b"\0" * size)
        out.flush()
        os.fsync(out.fileno())
    path.unlink(missing_ok=True)
    return True


# -- SMTP ---------------------------------------------------------------------------------------------


class _Watchdog:
    """One thread that cuts the connection when the message in hand runs past its deadline."""

    def __init__(self):
        self._cond = threading.Condition()
        self._deadline: float | None = None
        self._action = None
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, action) -> None:
        with self._cond:
            self._deadline, self._action = time.monotonic() + seconds, action
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="smtp-watchdog", daemon=True)
                self._thread.start()
            self._cond.notify()

    def shorten(self, seconds: float) -> None:
        with self._cond:
            if self._deadline is not None:
                self._deadline = min(self._deadline, time.monotonic() + seconds)
                self._cond.notify()

    def disarm(self) -> None:
        with self._cond:
            self._deadline = self._action = None

    def _watch(self) -> None:
        with self._cond:
            while True:
                if self._deadline is None:
                    self._cond.wait()
                    continue
                left = self._deadline - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                action, self._deadline, self._action = self._action, None, None
                if action is not None:
                    action()


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Smtp:
    """TRIGGER_SMTP_URL: one SMTP session reused for every message of a sweep."""

    def __init__(self, url: str, *, limit: float | None = None):
        u = urlparse(url)
        where = f"{u.scheme}://{u.hostname or ''}"
        if u.scheme not in ("smtp", "smtps") or not u.hostname:
            raise InvalidInput(f"TRIGGER_SMTP_URL {where}... is not smtp://host:port or smtps://host:port")
        try:
            port = u.port
        except ValueError:
            raise InvalidInput(f"TRIGGER_SMTP_URL {where}: the port is not a number") from None
        query = parse_qs(u.query)
        unknown = set(query) - {"starttls", "auth"}
        if unknown:
            raise InvalidInput(
                f"TRIGGER_SMTP_URL: unknown setting {sorted(unknown)[0]!r}; known: starttls, auth"
            )
        self.ssl = u.scheme == "smtps"
        self.starttls = query.get("starttls", ["0"])[0].lower() in ("1", "true", "yes")
        if self.ssl and self.starttls:
            raise InvalidInput("TRIGGER_SMTP_URL: smtps:// is TLS already; drop ?starttls=1")
        self.auth = query.get("auth", [""])[0].lower()
        if self.auth not in ("", "login", "xoauth2"):
            raise InvalidInput(f"TRIGGER_SMTP_URL: auth={self.auth!r} is not login or xoauth2")
        self.host = u.hostname
        self.port = port or (465 if self.ssl else 587 if self.starttls else 25)
        self.user, self.password = unquote(u.username or ""), unquote(u.password or "")
        self.token_cmd = (os.environ.get("TRIGGER_SMTP_TOKEN_CMD") or "").strip()
        self.app_login = _app_credentials()
        self._msal = None
        if self.auth == "xoauth2":
            if not self.user:
                raise InvalidInput(
                    "TRIGGER_SMTP_URL: auth=xoauth2 needs the mailbox as the user (smtp://user@host)"
                )
            if self.password:
                raise InvalidInput(
                    "TRIGGER_SMTP_URL: auth=xoauth2 takes its token from TRIGGER_SMTP_TOKEN_CMD, "
                    "not a password in the URL"
                )
            if self.token_cmd and self.app_login:
                raise InvalidInput(
                    "auth=xoauth2: give TRIGGER_SMTP_TOKEN_CMD or the client credentials, not both"
                )
            if not self.token_cmd and not self.app_login:
                raise InvalidInput(
                    "auth=xoauth2 needs TRIGGER_SMTP_TOKEN_CMD, a command that prints an access token, or "
                    "Office 365's TRIGGER_SMTP_TENANT, TRIGGER_SMTP_CLIENT_ID and TRIGGER_SMTP_CLIENT_SECRET"
                )
        elif self.auth == "login" and not self.user:
            raise InvalidInput("TRIGGER_SMTP_URL: auth=login needs a user (smtp://user:password@host)")
        if self.user and not (self.ssl or self.starttls) and not _loopback(self.host):
            raise InvalidInput(
                f"TRIGGER_SMTP_URL would log in to {self.host} without TLS: add ?starttls=1 or use smtps://"
            )
        self._cafile = (os.environ.get("TRIGGER_SMTP_CAFILE") or "").strip()
        # loading the system's trust store costs tens of milliseconds: only for a session that uses TLS,
        # when it opens; a CA file given is read now all the same, so a bad one is refused in one line
        self._context = self._tls_context(self._cafile) if self._cafile else None
        self.timeout = limit or timeout()
        if self.auth == "xoauth2" and self.app_login:
            self._msal = _msal_app(*self.app_login, timeout=self.timeout)
        self.mail_from = sender(smtp=True)
        self._conn: smtplib.SMTP | None = None
        self._dog = _Watchdog()
        self._cut = ""
        self.phase = "idle"  # connecting, sending: a message in "sending" may have reached the server
        self.broken: str | None = None
        self._stop_by: float | None = None

    @property
    def context(self) -> ssl.SSLContext:
        if self._context is None:
            self._context = self._tls_context(self._cafile)
        return self._context

    @staticmethod
    def _tls_context(cafile: str) -> ssl.SSLContext:
        # verified against the system's trust store (certificate and host name), plus our CA file if given
        context = ssl.create_default_context()
        if cafile:
            try:
                context.load_verify_locations(cafile=cafile)
            except (OSError, ssl.SSLError) as exc:
                raise InvalidInput(
                    f"TRIGGER_SMTP_CAFILE {cafile}: cannot be read as PEM certificates "
                    f"({exc.strerror or exc})"
                ) from None
        return context

    def describe(self) -> str:
        tls = " (TLS)" if self.ssl else " (STARTTLS)" if self.starttls else ""
        return f"smtp {self.host}:{self.port}{tls}"

    # -- the session --

    def _token(self) -> str:
        if self._msal is not None:
            return _app_token(self._msal)
        try:
            proc = subprocess.run(
                shlex.split(self.token_cmd), capture_output=True, text=True, timeout=self.timeout, check=False
            )
        except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
            raise MailError(f"TRIGGER_SMTP_TOKEN_CMD could not run: {exc}") from None
        token = proc.stdout.strip()
        if proc.returncode != 0 or not token:
            why = (proc.stderr.strip().splitlines() or ["it printed no token"])[0][:200]
            raise MailError(f"TRIGGER_SMTP_TOKEN_CMD failed (exit {proc.returncode}): {why}")
        return token

    def _login(self, conn: smtplib.SMTP) -> None:
        if self.auth == "xoauth2":
            conn.ehlo_or_helo_if_needed()
            offered = conn.esmtp_features.get("auth", "").upper().split()
            if "XOAUTH2" not in offered:
                raise MailError(
                    f"the mail server does not offer XOAUTH2 login (it offers: {' '.join(offered) or 'none'})"
                )
            raw = f"user={self.user}\x01auth=Bearer {self._token()}\x01\x01"

            def answer(challenge=None):
                # the first call is the initial response; after a 334 error challenge, an empty reply
                # ends the exchange and the server gives its final 535
                return raw if challenge is None else ""

            conn.auth("XOAUTH2", answer, initial_response_ok=True)
        elif self.user:
            conn.login(self.user, self.password)

    def _open(self) -> smtplib.SMTP:
        connect_within = min(self.timeout, CONNECT_TIMEOUT)
        if self.ssl:
            conn: smtplib.SMTP = smtplib.SMTP_SSL(timeout=connect_within, context=self.context)
        else:
            conn = smtplib.SMTP(timeout=connect_within)
        # smtplib checks the certificate against `_host`, which only its constructor sets; connecting
        # separately lets the watchdog reach the session as soon as there is one
        conn._host = self.host  # type: ignore[attr-defined]  # typeshed leaves out smtplib's private _host
        self._conn = conn
        conn.connect(self.host, self.port)
        assert conn.sock is not None  # connect() opened it or raised
        conn.sock.settimeout(self.timeout)
        if self.starttls:
            conn.ehlo()
            if not conn.has_extn("starttls"):
                raise MailError(
                    "the mail server does not offer STARTTLS; nothing was sent (never in plain text)"
                )
            conn.starttls(context=self.context)
            conn.ehlo()
        self._login(conn)
        return conn

    def _cut_connection(self, why: str) -> None:
        """From the watchdog or a signal: end the session now, whatever it is waiting for."""
        self._cut = why
        conn = self._conn
        sock = getattr(conn, "sock", None) if conn is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def send(self, msg: EmailMessage, name: str) -> None:
        if self.broken is not None:  # the session could not be opened this time: do not try it per message
            raise MailError(self.broken)
        self._cut = ""
        self.phase = "connecting"
        allowed = self.timeout
        if self._stop_by is not None:  # a service asked to stop: what is left of its grace only
            allowed = max(0.1, min(allowed, self._stop_by - time.monotonic()))
        started = time.monotonic()
        self._dog.arm(allowed, lambda: self._cut_connection(OVERRAN))
        try:
            conn = self._conn if self._conn is not None and getattr(self._conn, "sock", None) else None
            if conn is None:
                try:
                    conn = self._open()
                except BaseException as exc:
                    self._overran(exc, started, allowed)
                    if not isinstance(exc, Exception) or self._cut:
                        raise
                    self.broken = classify(exc).text
                    raise
            self.phase = "sending"
            conn.send_message(msg)
        except BaseException as exc:
            self._overran(exc, started, allowed)
            self._drop()
            if (
                self._cut
                and isinstance(exc, Exception)
                and not isinstance(exc, smtplib.SMTPResponseException)
            ):
                raise MailError(f"the send was cut off ({self._cut}); it may be tried again") from None
            raise
        finally:
            self._dog.disarm()
            self.phase = "idle"

    def _overran(self, exc: BaseException, started: float, allowed: float) -> None:
        """The socket's own timeout is as long as the watchdog's, and on a busy machine the watchdog's
        thread may wake after it: a connection that failed once the time allowed had run out was cut
        for taking too long, whichever of the two ended it."""
        if (
            not self._cut
            and isinstance(exc, OSError)
            and not isinstance(exc, smtplib.SMTPResponseException)
            and time.monotonic() - started >= allowed
        ):
            self._cut = OVERRAN

    def limit(self, seconds: float) -> None:
        """Allow the message in hand, and any after it, at most `seconds` more (a service asked to stop)."""
        self._stop_by = time.monotonic() + seconds
        self._dog.shorten(seconds)

    def abort(self) -> None:
        """Cut the message in hand now (a second signal)."""
        self._cut_connection("the service was stopped at once")

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass

    def close(self) -> None:
        """End the session politely (QUIT); the next send opens a new one."""
        conn = self._conn
        if conn is not None and getattr(conn, "sock", None) is not None:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                pass
        self._drop()
        self.broken = None


def transport(app: App | None = None) -> Smtp | Outbox:
    """SMTP or the outbox, its settings checked now (one clear line for a bad one); `channels.transport`
    chooses GOV.UK Notify before either when it is configured."""
    url = (os.environ.get("TRIGGER_SMTP_URL") or "").strip()
    if url:
        return Smtp(url)
    return Outbox(outbox_dir())
