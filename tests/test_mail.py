"""Mail over verified TLS, XOAUTH2 login and the mail settings, against real aiosmtpd servers on loopback
(docs/architecture.md#sending-mail)."""

from __future__ import annotations

import json
import shlex
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from tests.support.mailservers import Collect, Server, make_cases, self_signed, server_tls

FROM = "csp@council.example"


@pytest.fixture
def mail_env(monkeypatch):
    monkeypatch.setenv("TRIGGER_MAIL_FROM", FROM)
    for name in (
        "TRIGGER_SMTP_CAFILE",
        "TRIGGER_SMTP_TOKEN_CMD",
        "TRIGGER_SMTP_TIMEOUT",
        "TRIGGER_SMTP_TENANT",
        "TRIGGER_SMTP_CLIENT_ID",
        "TRIGGER_SMTP_CLIENT_SECRET",
        "TRIGGER_SMTP_AUTHORITY",
    ):
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


# -- Office 365 by the app's client credentials (msal) ----------------------------------------------------

TENANT, CLIENT_ID, SECRET = "council.onmicrosoft.com", "5b1c8a3e-0d2f-4e6a-9c7b-2f4e6a8c0d1e", "s3cret~value"


def identity_platform(cert) -> tuple[ThreadingHTTPServer, list[dict]]:
    """The two calls msal makes for client credentials, over TLS on loopback, as Microsoft's identity
    platform documents them: the tenant's OpenID configuration, then the token endpoint, which gives
    a token for the right secret and scope and `invalid_client` otherwise."""
    asked: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _json(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            base = f"https://127.0.0.1:{self.server.server_address[1]}/{TENANT}"
            if self.path != f"/{TENANT}/v2.0/.well-known/openid-configuration":
                return self._json(404, {"error": "not_found"})
            self._json(
                200,
                {
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "issuer": f"{base}/v2.0",
                },
            )

        def do_POST(self):
            form = {
                k: v[0]
                for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()
            }
            asked.append(form)
            ok = (
                self.path == f"/{TENANT}/oauth2/v2.0/token"
                and form.get("grant_type") == "client_credentials"
                and form.get("client_id") == CLIENT_ID
                and form.get("client_secret") == SECRET
                and form.get("scope") == "https://outlook.office365.com/.default"
            )
            if not ok:
                return self._json(
                    401,
                    {
                        "error": "invalid_client",
                        "error_description": "AADSTS7000215: Invalid client secret provided.",
                    },
                )
            self._json(200, {"token_type": "Bearer", "expires_in": 3599, "access_token": "eyJ0.app-token"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = server_tls(*cert).wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, asked


def test_office365_client_credentials_get_the_token_from_microsofts_identity_platform(
    db, mail_env, servers, cert
):
    make_cases(db, 1)
    handler = Collect(token="eyJ0.app-token", user=FROM)
    smtp = servers(handler, tls_context=server_tls(*cert), require_starttls=True)
    idp, asked = identity_platform(cert)
    try:
        mail_env.setenv("TRIGGER_SMTP_URL", smtp.url(query="starttls=1&auth=xoauth2", user=FROM))
        mail_env.setenv("TRIGGER_SMTP_CAFILE", str(cert[0]))
        mail_env.setenv("REQUESTS_CA_BUNDLE", str(cert[0]))  # msal's HTTPS, to the platform on loopback
        mail_env.setenv("TRIGGER_SMTP_AUTHORITY", f"https://127.0.0.1:{idp.server_address[1]}")
        mail_env.setenv("TRIGGER_SMTP_TENANT", TENANT)
        mail_env.setenv("TRIGGER_SMTP_CLIENT_ID", CLIENT_ID)
        mail_env.setenv("TRIGGER_SMTP_CLIENT_SECRET", "wrong")
        out = run(db, "2026-12-23T08:00")
        assert "Microsoft sign-in refused the app's credentials (invalid_client): AADSTS7000215" in out.stderr
        assert handler.logins == [] and handler.messages == []  # nothing tried without a token
        mail_env.setenv("TRIGGER_SMTP_CLIENT_SECRET", SECRET)
        out = run(db, "2026-12-23T08:05")
        assert "Sent 1," in out.stdout, out.stderr
        assert handler.logins == [(FROM, True)] and len(handler.messages) == 1
        assert "app-token" not in out.stdout + out.stderr and SECRET not in out.stdout + out.stderr
        assert [a["client_secret"] for a in asked] == ["wrong", SECRET]
    finally:
        idp.shutdown()
        idp.server_close()


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"TRIGGER_SMTP_URL": "http://mail.example"}, "is not smtp://host:port"),
        ({"TRIGGER_SMTP_URL": "smtp://127.0.0.1:25?tls=1"}, "unknown setting 'tls'"),
        ({"TRIGGER_SMTP_URL": "smtp://u@127.0.0.1:25?auth=xoauth2"}, "needs TRIGGER_SMTP_TOKEN_CMD"),
        (
            {"TRIGGER_SMTP_URL": "smtp://u@127.0.0.1:25?auth=xoauth2", "TRIGGER_SMTP_TENANT": "council"},
            "client credentials need TRIGGER_SMTP_CLIENT_ID, TRIGGER_SMTP_CLIENT_SECRET too",
        ),
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
    server = servers(Collect(held=True))  # the message's DATA is held until the test lets it go
    mail_env.setenv("TRIGGER_SMTP_URL", server.url())
    # the bound covers the connection too: long enough for it on a busy machine, so the cut comes in DATA
    mail_env.setenv("TRIGGER_SMTP_TIMEOUT", "3")
    out = run(db, "2026-12-23T08:00")
    assert (
        "the send was cut off (it took longer than the time allowed)" in out.stderr and "kept" in out.stderr
    )
    assert server.handler.receiving == 1 and server.handler.messages == []  # the server never kept it
    server.handler.held = False
    assert "Sent 1," in run(db, "2026-12-23T08:05").stdout
    assert len(server.handler.messages) == 1


def test_a_send_ended_by_the_sockets_own_timeout_is_said_as_cut_off_too(mail_env, servers, monkeypatch):
    """On a busy machine the watchdog's thread may wake after the socket's own timeout (the same length)
    has ended the send: the sender hears the same words either way. The watchdog is kept from firing
    here, so only the socket's timeout can end the send."""
    from email.message import EmailMessage

    from trigger.store import mail

    server = servers(Collect(held=True))
    mail_env.setenv("TRIGGER_SMTP_URL", server.url())
    mail_env.setenv("TRIGGER_SMTP_TIMEOUT", "1")
    smtp = mail.transport()
    monkeypatch.setattr(smtp._dog, "arm", lambda seconds, action: None)  # a watchdog that never wakes
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "trigger@example.org", "csm@example.org", "Due soon"
    msg.set_content("A deadline is near.")
    with pytest.raises(mail.MailError) as err:
        smtp.send(msg, "reminder-1")
    assert str(err.value) == (
        "the send was cut off (it took longer than the time allowed); it may be tried again"
    )
    assert server.handler.receiving == 1 and server.handler.messages == []
    server.handler.held = False
