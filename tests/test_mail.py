"""Mail over verified TLS, XOAUTH2 login and the mail settings, against real aiosmtpd servers on loopback
(docs/architecture.md#sending-mail)."""

from __future__ import annotations

import shlex
import sys

import pytest

from tests.support.mailservers import Collect, Server, make_cases, self_signed, server_tls

FROM = "csp@council.example"


@pytest.fixture
def mail_env(monkeypatch):
    monkeypatch.setenv("TRIGGER_MAIL_FROM", FROM)
    for name in ("TRIGGER_SMTP_CAFILE", "TRIGGER_SMTP_TOKEN_CMD", "TRIGGER_SMTP_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def servers():
    started = []

    def start(handler=None, **kwargs) -> Server:
        server = Server(handler or Collect(), **kwargs).start()
        started.append(server)
        return server

    yield start
    for s in started:
        s.stop()


@pytest.fixture
def cert(tmp_path):
    """A self-signed certificate for 127.0.0.1 (`openssl req`), and its key."""
    return self_signed(tmp_path / "tls")


def run(db, now, ok=True):
    result = db("reminders", "run", "--now", now, ok=ok)
    return result


@pytest.mark.parametrize("mode", ["starttls", "smtps"])
def test_a_certificate_that_does_not_verify_sends_nothing_and_keeps_the_reminder(
    db, mail_env, servers, cert, mode
):
    make_cases(db, 1)
    tls = server_tls(*cert)
    if mode == "starttls":
        # require_starttls=False: a client that fell back to plain text would get its message through
        server = servers(tls_context=tls, require_starttls=False)
        url = server.url(query="starttls=1")
    else:
        server = servers(ssl_context=tls)
        url = server.url("smtps")
    mail_env.setenv("TRIGGER_SMTP_URL", url)
    refused = run(db, "2026-12-23T08:00")
    assert "Sent 0, not sent 1 (kept and retried)" in refused.stdout
    assert "the server's certificate did not verify" in refused.stderr
    assert "certificate verify failed" in refused.stderr or "self-signed" in refused.stderr
    assert "nothing was sent" in refused.stderr and "TRIGGER_SMTP_CAFILE" in refused.stderr
    assert server.handler.messages == []  # never a plain-text fallback
    status = db.json("reminders", "status")
    [kept] = status["undelivered"]
    assert kept["status"] == "retrying" and "did not verify" in kept["last_error"]
    mail_env.setenv("TRIGGER_SMTP_CAFILE", str(cert[0]))  # the CA file makes the same certificate good
    if mode == "starttls":
        server.stop()
        server = servers(server.handler, port=server.port, tls_context=tls, require_starttls=True)
    accepted = run(db, "2026-12-23T08:05")
    assert "Sent 1," in accepted.stdout, accepted.stderr
    assert len(server.handler.messages) == 1
    assert db.json("reminders", "status")["undelivered"] == []


def test_a_certificate_for_another_host_is_refused_even_with_its_ca(db, mail_env, servers, tmp_path):
    make_cases(db, 1)
    other = self_signed(tmp_path / "other", "mail.example.org", "DNS:mail.example.org")
    server = servers(tls_context=server_tls(*other), require_starttls=False)
    mail_env.setenv("TRIGGER_SMTP_URL", server.url(query="starttls=1"))
    mail_env.setenv("TRIGGER_SMTP_CAFILE", str(other[0]))
    out = run(db, "2026-12-23T08:00")
    assert "did not verify" in out.stderr and "127.0.0.1" in out.stderr  # the name checked
    assert server.handler.messages == []


def test_a_server_without_starttls_gets_nothing_in_plain_text(db, mail_env, servers):
    make_cases(db, 1)
    server = servers()
    mail_env.setenv("TRIGGER_SMTP_URL", server.url(query="starttls=1"))
    out = run(db, "2026-12-23T08:00")
    assert "does not offer STARTTLS; nothing was sent" in out.stderr
    assert server.handler.messages == []


def _token_cmd(token: str | None, code: int = 0) -> str:
    program = f"import sys; print({token!r}); sys.exit({code})" if token else "import sys; sys.exit(3)"
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(program)}"


def test_xoauth2_login_over_starttls_with_the_token_from_the_command(db, mail_env, servers, cert):
    make_cases(db, 1)
    handler = Collect(token="ya29.token-123", user=FROM)
    server = servers(handler, tls_context=server_tls(*cert), require_starttls=True)
    mail_env.setenv("TRIGGER_SMTP_URL", server.url(query="starttls=1&auth=xoauth2", user=FROM))
    mail_env.setenv("TRIGGER_SMTP_CAFILE", str(cert[0]))
    mail_env.setenv("TRIGGER_SMTP_TOKEN_CMD", _token_cmd("ya29.token-123"))
    out = run(db, "2026-12-23T08:00")
    assert "Sent 1," in out.stdout, out.stderr
    assert handler.logins == [(FROM, True)] and len(handler.messages) == 1
    assert "ya29" not in out.stdout + out.stderr  # the token is never printed


def test_xoauth2_with_a_wrong_or_missing_token_sends_nothing_and_keeps_the_reminder(
    db, mail_env, servers, cert
):
    make_cases(db, 1)
    handler = Collect(token="right", user=FROM)
    server = servers(handler, tls_context=server_tls(*cert), require_starttls=True)
    mail_env.setenv("TRIGGER_SMTP_URL", server.url(query="starttls=1&auth=xoauth2", user=FROM))
    mail_env.setenv("TRIGGER_SMTP_CAFILE", str(cert[0]))
    mail_env.setenv("TRIGGER_SMTP_TOKEN_CMD", _token_cmd("wrong"))
    out = run(db, "2026-12-23T08:00")
    assert "login refused: 535" in out.stderr and "kept" in out.stderr
    assert handler.logins == [(FROM, False)] and handler.messages == []
    mail_env.setenv("TRIGGER_SMTP_TOKEN_CMD", _token_cmd(None))
    out = run(db, "2026-12-23T08:05")
    assert "TRIGGER_SMTP_TOKEN_CMD failed (exit 3)" in out.stderr and handler.messages == []
    mail_env.setenv("TRIGGER_SMTP_TOKEN_CMD", _token_cmd("right"))
    assert "Sent 1," in run(db, "2026-12-23T08:30").stdout
    assert len(handler.messages) == 1


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"TRIGGER_SMTP_URL": "http://mail.example"}, "is not smtp://host:port"),
        ({"TRIGGER_SMTP_URL": "smtp://127.0.0.1:25?tls=1"}, "unknown setting 'tls'"),
        ({"TRIGGER_SMTP_URL": "smtp://u@127.0.0.1:25?auth=xoauth2"}, "needs TRIGGER_SMTP_TOKEN_CMD"),
        ({"TRIGGER_SMTP_URL": "smtp://u:p@mail.example.org:25"}, "without TLS"),
        ({"TRIGGER_SMTP_URL": "smtps://127.0.0.1:1?starttls=1"}, "drop ?starttls=1"),
        (
            {"TRIGGER_SMTP_URL": "smtps://127.0.0.1:1", "TRIGGER_SMTP_CAFILE": "/nowhere/ca.pem"},
            "TRIGGER_SMTP_CAFILE /nowhere/ca.pem: cannot be read",
        ),
        ({"TRIGGER_SMTP_URL": "smtp://127.0.0.1:1", "TRIGGER_SMTP_TIMEOUT": "soon"}, "TRIGGER_SMTP_TIMEOUT"),
        ({"TRIGGER_CLAIM_SECONDS": "0"}, "TRIGGER_CLAIM_SECONDS"),
    ],
)
def test_bad_mail_settings_are_one_line_and_nothing_is_claimed(db, mail_env, env, says):
    make_cases(db, 1)
    for name, value in env.items():
        mail_env.setenv(name, value)
    before = db.json("reminders", "status")
    result = db.fails("reminders", "run", "--now", "2026-12-23T08:00")
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.stderr
    assert db.json("reminders", "status") == before


def test_a_send_longer_than_the_smtp_timeout_is_cut_off_and_kept(db, mail_env, servers):
    # the bound on one send is what lets a runner's claim on the message in hand cover the whole send
    make_cases(db, 1)
    server = servers(Collect(delay=5))
    mail_env.setenv("TRIGGER_SMTP_URL", server.url())
    mail_env.setenv("TRIGGER_SMTP_TIMEOUT", "1")
    out = run(db, "2026-12-23T08:00")
    assert (
        "the send was cut off (it took longer than the time allowed)" in out.stderr and "kept" in out.stderr
    )
    assert server.handler.receiving == 1 and server.handler.messages == []  # the server never kept it
    server.handler.delay = 0
    assert "Sent 1," in run(db, "2026-12-23T08:05").stdout
    assert len(server.handler.messages) == 1
