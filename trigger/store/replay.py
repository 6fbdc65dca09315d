"""`trigger audit verify`, the second half: the tables checked against the log
(docs/architecture.md#the-record-checks-itself).

The hash chain proves the log was not edited; it says nothing about a row changed beside it (`UPDATE
review_case SET state = 'closed'`, a complaint's reported date moved, a case's key deleted). So each
case's events are replayed, oldest first:

- its state is the state its last move led to, since the day of that move;
- every row of the case holds the facts the log carries for it (`trigger.store.facts`): each event
  carries the rows its transaction wrote, so folding them gives what every row should hold now; a row
  the log never had was added outside the engine, one the log has that is gone was deleted;
- a case that was not purged still has its key, and the key opens its events;
- the agencies hold what the partnership's events last carried for them.

Each difference is one line naming the case and what differs. Events written before the log carried
facts cannot be replayed in full: a case whose history begins with them is checked for its state, its
key and its purge only, until a change to it records all its rows as a new starting point.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from trigger.store import facts, keystore, seal, sealed
from trigger.store import tables as t

CHUNK = 400  # cases replayed at a time: memory stays flat however many the database holds

# how a row is named in a difference; `{n}` is its id (an action by its number)
_ROW_NAMES = {
    "notification": "a notice to the partners ({n})",
    "complaint": "complaint {n}",
    "decision": "threshold decision {n}",
    "evidence": "evidence request {n}",
    "hours": "hours entry {n}",
    "meeting": "meeting {n}",
    "finding": "finding {n}",
    "recommendation": "recommendation {n}",
    "action": "action {n}",
    "appeal": "appeal {n}",
    "letter": "letter {n} of the register",
    "deadline": "deadline {n}",
    "correction": "correction {n}",
    "consultation": "consultation {n}",
    "agency": "agency {n}",
}
_FIELD_NAMES = {
    "received": "received date",
    "occurred": "occurred date",
    "reported": "reported date",
    "agency_id": "agency",
    "owner_agency_id": "owner",
    "lead_agency_id": "lead agency",
    "same_as_id": "same-as link",
    "voided_on": "void date",
    "decided_on": "decision date",
    "met": "met",
    "worked_on": "date worked",
    "due": "due date",
    "met_on": "day met",
    "completed_on": "completion date",
    "issued_on": "issue date",
    "hate": "hate strand",
    "rag": "RAG",
    "jag": "JAG flag",
    "purged": "purged flag",
    "actor": "recorded actor",
}
_SKIPPED = {"case": {"state_changed"}}  # compared with the state, in one line


@dataclass
class Replay:
    differences: list[str] = field(default_factory=list)
    cases: int = 0
    partial: int = 0  # cases whose older events cannot be replayed in full
    agencies_unknown: int = 0  # agencies older than the log's facts
    keys: str = ""  # where the keys are kept, in one line


def _text(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


class _Names:
    """How values are shown: an agency by its code."""

    def __init__(self, conn: Any):
        self.codes = {row.id: row.code for row in conn.execute(select(t.agency.c.id, t.agency.c.code))}

    def value(self, name: str, value: Any) -> str:
        if name.endswith("agency_id") and isinstance(value, int):
            return self.codes.get(value, f"agency {value}")
        return _text(value)

    def row(self, key: str, facts_of: dict | None) -> str:
        kind, _, n = key.partition(":")
        if kind == "action" and facts_of and facts_of.get("number") is not None:
            n = str(facts_of["number"])
        if kind == "deadline" and facts_of and facts_of.get("kind"):
            return f"the {facts_of['kind'].replace('_', ' ')} deadline ({n})"
        if kind == "notification" and facts_of:
            return f"the notice to {self.value('agency_id', facts_of.get('agency_id'))}"
        if kind == "agency" and facts_of and facts_of.get("code"):
            return f"agency {facts_of['code']}"
        return _ROW_NAMES.get(kind, kind + " {n}").format(n=n)


def compare(
    who: str, logged: dict[str, dict | None], now: dict[str, dict], names: _Names, only_logged: bool = False
) -> list[str]:
    """One line for each difference between the rows (`now`) and what the log says of them."""
    out = []
    who = f"{who}: " if who else ""
    for key in sorted(set(logged) | set(now), key=_order):
        said, held = logged.get(key), now.get(key)
        if said is None and held is None:
            continue
        if said is None:
            if only_logged:
                continue
            out.append(f"{who}{names.row(key, held)} is not in the log (a row added outside the engine)")
            continue
        if held is None:
            out.append(
                f"{who}{names.row(key, said)} is gone, but the log has it (deleted outside the engine)"
            )
            continue
        kind = key.partition(":")[0]
        for name in said:
            if name in _SKIPPED.get(kind, ()) or said.get(name) == held.get(name):
                continue
            label = _FIELD_NAMES.get(name, name.replace("_", " "))
            subject = "" if kind == "case" else f"{names.row(key, said)}'s "
            if name in facts.BY_NAME[kind].digest:
                out.append(f"{who}{subject}{label} is not what the log says it was set to")
            else:
                out.append(
                    f"{who}{subject}{label} is {names.value(name, held.get(name))}, "
                    f"the log says {names.value(name, said.get(name))}"
                )
    return out


def _order(key: str) -> tuple[int, str, int]:
    kind, _, n = key.partition(":")
    order = [k.name for k in facts.KINDS]
    return (order.index(kind) if kind in order else len(order), kind, int(n) if n.isdigit() else 0)


def _fold(model: dict[str, dict | None], carried: dict) -> None:
    for key, value in carried.items():
        model[key] = value


def _case(row: Any, events: list[Any], now: dict[str, dict], opener: seal.Opener, keyed: bool, names: _Names):
    """(the differences of one case, whether its history could be replayed in full)."""
    who = row.reference
    out = []
    purge = next((e for e in reversed(events) if e.event == "purge"), None)
    if not events:
        return [f"{who}: the case has no event in the log (a row added outside the engine)"], True
    if row.purged and purge is None:
        out.append(f"{who}: the case is marked purged, but the log has no purge of it")
    if purge is not None and not row.purged:
        out.append(f"{who}: the case is marked not purged, but the log says it was purged on {purge.on}")
    sealed = [e for e in events if seal.is_sealed(e.detail) or seal.is_sealed(e.reason)]
    if purge is None and sealed and not keyed:
        out.append(
            f"{who}: the case's key is gone, so the reasons and details of its {len(sealed)} events can no "
            "longer be read, yet the case was never purged"
        )
    if purge is not None and keyed and not any(e.seq > purge.seq for e in sealed):
        out.append(
            f"{who}: purged on {purge.on}, but its key is still held, so a copy of the database taken "
            "before the purge can still be read: run `trigger purge` again to delete it"
        )
    model: dict[str, dict | None] = {}
    complete = False
    unopened = []
    for i, e in enumerate(events):
        recorded = opener.recorded(e) if e.detail else None
        if recorded is None and seal.is_sealed(e.detail) and keyed and (purge is None or e.seq > purge.seq):
            unopened.append(e.seq)
        if recorded is not None and "facts" in recorded:
            if recorded.get("baseline") or i == 0:
                model, complete = {}, True
            if complete:
                _fold(model, recorded["facts"])
        else:
            complete = False
    if unopened:
        out.append(
            f"{who}: the case's key does not open {'event' if len(unopened) == 1 else 'events'} "
            f"{', '.join(map(str, unopened[:5]))}{'...' if len(unopened) > 5 else ''} "
            "(the key or the events were changed outside the engine)"
        )
    moves = [e for e in events if e.to_state]
    if moves:
        last = moves[-1]
        case_facts = model.get("case") if complete else None
        since = (case_facts or {}).get("state_changed") or (
            last.on.isoformat() if last.event != "activate" else None
        )
        held_since = row.state_changed.isoformat()
        if row.state != last.to_state:
            out.append(
                f"{who}: state is {row.state}, the log says {last.to_state}"
                + (f" since {since}" if since else "")
            )
        elif since and held_since != since:
            out.append(f"{who}: {row.state} since {held_since}, the log says since {since}")
    if complete:
        out += compare(who, model, now, names)
    return out, complete


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def replay(session: Any) -> Replay:
    """Replay every case's events and check its rows against them, and the agencies against the
    partnership's events. The caller has checked the chain."""
    conn = session.connection()
    result = Replay()
    names = _Names(conn)
    rc, ev = t.review_case, t.audit_event
    cases = {
        r.id: r
        for r in conn.execute(
            select(rc.c.id, rc.c.reference, rc.c.state, rc.c.state_changed, rc.c.purged).order_by(rc.c.id)
        )
    }
    sealed.keys_reachable(conn)
    keyed = set(sealed.case_keys(conn))
    result.keys, held = _keys_held(conn)
    result.differences += held
    columns = (
        ev.c.seq,
        ev.c.case_id,
        ev.c.reference,
        ev.c.event,
        ev.c.on,
        ev.c.to_state,
        ev.c.reason,
        ev.c.detail,
    )
    logged_ids = {
        r.case_id for r in conn.execute(select(ev.c.case_id).where(ev.c.case_id.is_not(None)).distinct())
    }
    for gone in sorted(logged_ids - set(cases)):
        ref = conn.execute(select(ev.c.reference).where(ev.c.case_id == gone).limit(1)).scalar()
        result.differences.append(
            f"{ref}: the log has this case, but its row is gone (deleted outside the engine)"
        )
    for chunk in _chunks(sorted(cases)):
        events: dict[int, list[Any]] = {}
        query = select(*columns).where(ev.c.case_id.in_(chunk)).order_by(ev.c.case_id, ev.c.seq)
        for e in conn.execute(query):
            events.setdefault(e.case_id, []).append(e)
        rows = facts.snapshot(conn, chunk)
        opener = seal.Opener(session, chunk)
        for case_id in chunk:
            found, complete = _case(
                cases[case_id],
                events.get(case_id, []),
                rows.get(case_id, {}),
                opener,
                case_id in keyed,
                names,
            )
            result.differences += found
            result.cases += 1
            result.partial += not complete
    _partnership_rows(conn, result, names)
    return result


def _keys_held(conn: Any) -> tuple[str, list[str]]:
    """Where the keys are kept (one line), and a line for each partnership whose month keys older than
    its last purge of imported rows are still held."""
    import json

    store = keystore.checked(conn)
    main = {name: conn.execute(select(getattr(t, name).c.key)).all() for name in keystore.TABLES}
    months = [(pid, month) for pid, month, _key in conn.execute(select(*t.log_key.c))]
    if store is None:
        line = ""  # kept in the database, as they always were: nothing more to say
    else:
        kept = {name: store.rows(name) for name in keystore.TABLES}
        months += [(pid, month) for pid, month, _key in kept["log_key"]]
        line = f"Keys: {keystore.counts(kept)}, kept in {store.where}"
        if any(main.values()):
            line += f"; {keystore.counts(main)} still in the database too: run `trigger keys move` to finish"
        else:
            line += "; none in the database."
    ev = t.audit_event
    purged_before: dict[int, str] = {}
    query = select(ev.c.partnership_id, ev.c.detail).where(ev.c.event == "purge_imported").order_by(ev.c.seq)
    for pid, detail in conn.execute(query):
        before = json.loads(detail).get("before", "") if detail and not seal.is_sealed(detail) else ""
        if before:
            purged_before[pid] = max(before[:7], purged_before.get(pid, ""))
    late = sorted({(pid, m) for pid, m in months if m < purged_before.get(pid, "")})
    out = [
        f"the imported rows of {m} (partnership {pid}) were purged, but the key of their month is still "
        "held: run `trigger purge` again to delete it"
        for pid, m in late
    ]
    return line, out


def _partnership_rows(conn: Any, result: Replay, names: _Names) -> None:
    """The agencies (and the corrections made to them) against the events that carried them. When the
    log's first event carries facts, every agency must be in it; else only those it carries are
    checked."""
    ev = t.audit_event
    model: dict[str, dict | None] = {}
    first = True
    complete = False
    query = select(ev.c.seq, ev.c.detail).where(ev.c.case_id.is_(None)).order_by(ev.c.seq)
    for e in conn.execute(query):
        recorded = _plain(e.detail)
        if first:
            complete = e.seq == 1 and recorded is not None and "facts" in recorded
            first = False
        if recorded is not None:
            _fold(model, recorded.get("facts") or {})
    now = facts.unowned(conn)
    result.agencies_unknown = 0 if complete else sum(1 for k in now if k not in model)
    result.differences += compare("", model, now, names, only_logged=not complete)


def _plain(detail: str | None) -> dict | None:
    import json

    if not detail or seal.is_sealed(detail):
        return None
    try:
        data = json.loads(detail)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
