"""`trigger web serve`: the door on uvicorn, until SIGTERM or SIGINT (uvicorn lets the requests in hand
finish, then exits). uvicorn's own access log is off: `trigger.web.guard` logs each request without
the client's address or anything the applicant typed."""

from __future__ import annotations

import logging
import os
import signal

from trigger.errors import InvalidInput, MissingDependency

log = logging.getLogger("trigger.web")

WEB_EXTRA = "the web door needs the web extra: pip install 'community-trigger[web]'"


def run(url: str | None, *, host: str, port: int, policy: str | None = None) -> None:
    try:
        import uvicorn

        from trigger.web.app import create_app
    except ImportError as exc:
        raise MissingDependency(f"{WEB_EXTRA} ({exc.name} is missing)") from None
    limits = {
        "submissions_per_hour": _number("TRIGGER_WEB_SUBMISSIONS_PER_HOUR"),
        "posts_per_hour": _number("TRIGGER_WEB_POSTS_PER_HOUR"),
    }
    # the database is checked, and the door's keys made, before it listens
    app = create_app(url, policy=policy, **{k: v for k, v in limits.items() if v is not None})
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,
        log_config=None,
        server_header=False,
        proxy_headers=True,  # the client and https as the reverse proxy on this host saw them
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        timeout_graceful_shutdown=10,
    )
    log.info("the applicant's door is listening on http://%s:%s/apply", host, port)
    # uvicorn answers SIGTERM and SIGINT itself (the requests in hand finish), then raises the signal
    # again to whatever handler was there before: a quiet one, so the process ends with status 0
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    uvicorn.Server(config).run()
    log.info("the applicant's door has stopped")


def _number(name: str) -> int | None:
    """A limit from the environment (docs/operations.md#the-applicants-door), or None for the default."""
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise InvalidInput(f"{name} {text!r} is not a whole number of at least 1")
    return int(text)
