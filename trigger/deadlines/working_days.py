"""`trigger calendar due` and `trigger calendar holidays`: the working days of the policy the cases run
under, counted by the very function their deadlines use (`Policy.due`), so that the answer to "when is
1 working day after 18 December?" is the acknowledgement's due day (docs/procedure.md#counting-days).

The policy is `--policy` when given, else the partnership's (the one its next case would start under);
before `trigger init` there is none yet, and the `llr` preset `init` would choose stands in.
"""

from __future__ import annotations

import dataclasses
from datetime import date

from trigger.errors import InvalidInput
from trigger.rules import policy as policies
from trigger.rules.calendar import parse_span
from trigger.rules.dates import weekday
from trigger.rules.policy import Policy
from trigger.store import outputs
from trigger.store.access import READ_CASE, needs
from trigger.store.app import App
from trigger.store.unit import default_policy

BEFORE_INIT = "llr"  # the preset `trigger init` chooses when given none


@needs(READ_CASE)
def calendar_policy(app: App, nation: str | None = None) -> Policy:
    """The policy whose calendar the cases count in, with `nation`'s bank holidays when one is given."""
    if app.policy_override:
        policy = policies.load(app.policy_override)
    elif (path := outputs.sqlite_path(app.url)) is not None and not path.exists():
        policy = policies.load(BEFORE_INIT)
    else:
        with app.read() as session:
            policy = default_policy(app, session)
    return policy if nation is None else dataclasses.replace(policy, nation=nation)


def due(app: App, start: date, span: str, nation: str | None = None) -> dict:
    """When SPAN after START ends under the policy: what `calendar due` prints."""
    try:
        parsed = parse_span(span)
    except ValueError as exc:
        raise InvalidInput(f"SPAN: {exc}") from None
    policy = calendar_policy(app, nation)
    return {
        "start": start.isoformat(),
        "span": str(parsed),
        "nation": policy.nation,
        "policy": policy.name,
        "due": policy.due(start, parsed).isoformat(),
    }


def holidays(app: App, year: int, nation: str | None = None) -> list[dict]:
    """The days the policy's calendar does not count in YEAR: bank holidays and its closure days."""
    policy = calendar_policy(app, nation)
    return [
        {"date": d.isoformat(), "weekday": weekday(d), "name": name}
        for d, name in policy.calendar().holidays_in(year)
    ]
