"""One exception per thing a user can get wrong. Each message is one line that says what is wrong
and how to fix it; the command line prints it on stderr and exits non-zero."""


class TriggerError(Exception):
    """A mistake the user can fix; nothing was changed."""


class NotFound(TriggerError):
    """A case, agency, incident or action that does not exist."""


class InvalidInput(TriggerError):
    """A value that is malformed or impossible (a bad date, a missing field). `problem` says which kind
    of mistake it is (required, blank, too_long, character, format, future, year, order), so that a
    form can word it for the field it came from; `limit` is the length limit of a text too long."""

    def __init__(self, message: str, problem: str | None = None, limit: int | None = None):
        super().__init__(message)
        self.problem, self.limit = problem, limit


class IllegalMove(TriggerError):
    """A workflow move the case's current state does not allow."""


class GuardRefused(TriggerError):
    """A move the state allows but the law or the local procedure forbids as things stand."""


class ConcurrentChange(TriggerError):
    """Somebody else changed the same case between our read and our write."""


class Retry(ConcurrentChange):
    """A race that running the command again settles (a serialization failure, a deadlock, a number
    taken at the same moment): `trigger.store.app.retried` runs it again; shown only if it keeps happening."""


class NotPermitted(TriggerError):
    """The acting user's role, the database's login or the file's permissions do not allow this."""


class PolicyError(TriggerError):
    """A policy file that is missing or invalid: names the file, the key and the reason."""


class NotInitialised(TriggerError):
    """The database has no schema yet."""


class StorageError(TriggerError):
    """The database could not store a change (a full disk, a lost connection); nothing was saved."""


class MissingDependency(TriggerError):
    """An optional extra or a system library that this command needs is not installed: names what
    to install."""


class DeliveryFailed(TriggerError):
    """A message the mail server or the outbox refused: names the address and the server's reason."""


class Damaged(TriggerError):
    """The record was changed outside the engine (a case's key deleted, rows edited by hand): what it
    holds cannot be shown as the record; `trigger audit verify` names every difference."""
