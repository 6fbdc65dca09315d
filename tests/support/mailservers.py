"""Real SMTP servers for the tests (aiosmtpd on 127.0.0.1, an explicitly chosen free port): one that
keeps what it receives, refuses with 451 or 550, sleeps before answering, speaks TLS with a self-signed
certificate made here by `openssl req`, or checks an XOAUTH2 token; and the figures of a fault scenario.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import socket
import ssl
import subprocess
import threading
from collections import Counter
from datetime import date, datetime, timedelta
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import func, select

from tests.support.sql import raw_sql
from trigger.deadlines.dbclock import clock
from trigger.store.app import App
from trigger.store.models import Reminder

MANAGER = "csm@example.gov.uk"


def free_port() -> int:
    # aiosmtpd's Controller cannot take port=0 (it probes the port on start): pick a free port explicitly
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Collect:
    """An SMTP handler that keeps what it receives.

    refuse: answer that many messages 451 first; reject: addresses refused 550 at RCPT; fail_all: answer
    every DATA with this reply; delay: seconds to wait before accepting DATA (a slow server: if the
    client goes away meanwhile, aiosmtpd cancels the handler and nothing is kept; `cut_off` counts
    those); held: while true, every DATA waits (a server sitting on its messages until the test lets
    them go); token: the XOAUTH2 token to accept (for user `user`)."""

    def __init__(self, refuse=0, reject=(), delay=0.0, token=None, user=None, fail_all=None, held=False):
        self.messages, self.refuse, self.refused = [], refuse, 0
        self.held, self.cut_off = held, 0
        self.reject, self.delay, self.token, self.user, self.fail_all = (
            set(reject),
            delay,
            token,
            user,
            fail_all,
        )
        self.logins: list[tuple[str, bool]] = []
        self.receiving = 0  # messages whose DATA has begun
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.reject:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.receiving += 1
        try:
            while self.held:
                await asyncio.sleep(0.02)
            if self.delay:
                await asyncio.sleep(self.delay)
        except asyncio.CancelledError:  # the client went away mid-send
            self.cut_off += 1
            raise
        with self.lock:
            if self.fail_all:
                return self.fail_all
            if self.refused < self.refuse:
                self.refused += 1
                return "451 4.3.0 Mailbox busy, try again later"
            self.messages.append(message_from_bytes(envelope.content, policy=email_policy.default))
        return "250 OK"

    async def auth_XOAUTH2(self, server, args):
        """XOAUTH2 (the initial response carries `user=...^Aauth=Bearer TOKEN^A^A`)."""
        if len(args) < 2:
            return AuthResult(success=False, handled=False)
        raw = base64.b64decode(args[1]).decode()
        fields = dict(part.split("=", 1) for part in raw.split("\x01") if "=" in part)
        ok = fields.get("user") == self.user and fields.get("auth") == f"Bearer {self.token}"
        self.logins.append((fields.get("user", ""), ok))
        if not ok:
            # as Office 365 and Gmail do: a 334 carrying the error as JSON, the client's empty reply,
            # then the final 535
            await server.challenge_auth('{"status":"401","schemes":"bearer"}')
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True)

    # -- what arrived --

    def reminder_ids(self) -> list[int]:
        """The reminder behind each message received (its Message-ID names it), repeats included."""
        out = []
        for m in self.messages:
            found = re.search(r"reminder-(\d+)-", m["Message-ID"] or "")
            if found:
                out.append(int(found.group(1)))
        return out


class Server:
    """A Controller on 127.0.0.1:port that can be stopped and started again on the same port."""

    def __init__(self, handler: Collect, port: int | None = None, **kwargs):
        self.handler, self.port, self.kwargs = handler, port or free_port(), kwargs
        self.controller: Controller | None = None

    def start(self) -> Server:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **self.kwargs)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def url(self, scheme="smtp", query="", user="") -> str:
        at = f"{user}@" if user else ""
        return f"{scheme}://{at}127.0.0.1:{self.port}" + (f"?{query}" if query else "")


def self_signed(folder: Path, name: str = "127.0.0.1", alt: str = "IP:127.0.0.1,DNS:localhost"):
    """A self-signed certificate and key made by `openssl req` (EC P-256, two days)."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2".split()
    command += [
        "-keyout",
        str(key),
        "-out",
        str(cert),
        "-subj",
        f"/CN={name}",
        "-addext",
        f"subjectAltName={alt}",
    ]
    subprocess.run(command, check=True, capture_output=True)
    return cert, key


def server_tls(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


# -- figures -------------------------------------------------------------------------------------------


def figures(scenario: str, expected: set[int], received: list[int], reported: set[int] = frozenset()) -> dict:
    """expected / delivered / doubled / lost for one fault scenario; written (a JSON line) to the file
    named by TRIGGER_FAULT_FIGURES, when set, for the report of a run."""
    counts = Counter(received)
    delivered = {i for i in counts if i in expected}
    out = {
        "scenario": scenario,
        "expected": len(expected),
        "delivered": len(delivered),
        "doubled": sum(n - 1 for n in counts.values() if n > 1),
        "lost": len(expected - delivered - set(reported)),
        "reported_to_manager": len(set(reported) & expected),
        "unexpected": len(set(counts) - expected),
    }
    path = os.environ.get("TRIGGER_FAULT_FIGURES")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(out) + "\n")
    return out


# -- cases whose reminders fall due -------------------------------------------------------------------------


def make_cases(trigger, n: int = 1, received: str = "2026-12-22") -> list[str]:
    """Cases received on `received` (logged from a later day), nothing done on them: each has an
    acknowledgement and a threshold decision deadline, reminded to the manager (nobody else is known)."""
    import time_machine

    consent = (date.fromisoformat(received) - timedelta(days=2)).isoformat()
    refs = []
    with time_machine.travel(datetime(2027, 6, 1, 12, 0), tick=False):
        for i in range(n):
            refs.append(
                trigger.json(
                    "activate",
                    "--applicant",
                    f"Ann Example{i}",
                    "--victim",
                    f"Vera Victim{i}",
                    "--consent-date",
                    consent,
                    "--received",
                    received,
                    "--channel",
                    "online",
                    "--address",
                    "1 Secret Street",
                    "--statement",
                    "Nothing changed",
                )["reference"]
            )
    return refs


def overdue_now(trigger, n: int) -> list[str]:
    """Cases received forty days ago: their overdue notices and escalations are due today, by the real
    clock (for the tests of `reminders serve` and of runners whose clocks differ)."""
    return make_cases(trigger, n, (date.today() - timedelta(days=40)).isoformat())


def claims_held() -> int:
    """How many reminders are claimed by a runner and not yet run out, by the database's clock."""
    with App().read() as session:
        live = (Reminder.status == "claimed", Reminder.claim_until > clock(session))
        return session.execute(select(func.count()).select_from(Reminder).where(*live)).scalar_one()


def run_out_claims() -> None:
    """Every claim held runs out, as it would once its time is up by the database's clock."""
    raw_sql("UPDATE reminder SET claim_until = :past WHERE status = 'claimed'", past=datetime(2000, 1, 1))


def due_ids(trigger, now: str | None = None) -> set[int]:
    """The reminders a run at `now` (default: now) would send (a dry run)."""
    out = trigger.json("reminders", "run", *(["--now", now] if now else []), "--dry-run")
    return {r["id"] for r in out["reminders"]}
