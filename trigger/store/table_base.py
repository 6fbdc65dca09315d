"""What every table of `trigger.store.models` stands on: the base class, the metadata with its naming
convention, and the helpers every use-case takes from `trigger.store.models` (`row_id`, `utcnow`)."""

from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import MetaData
from sqlmodel import SQLModel
from sqlmodel.main import SQLModelConfig

# Named constraints so that Alembic batch migrations on SQLite can alter them (it cannot drop an unnamed one).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
# every table's, once `trigger.store.models.metadata` has built them all
METADATA: MetaData = SQLModel.metadata


class TableBase(SQLModel):
    """The base of every table. Each builds its pydantic validator only when something validates
    through it, which the tables never do (the use-cases check their input): building 29 validators
    would cost every write command a sixth of its start-up (docs/architecture.md#speed)."""

    model_config = SQLModelConfig(defer_build=True)


class _Row(Protocol):
    @property
    def id(self) -> int | None: ...


def row_id(row: _Row) -> int:
    """The id of a stored row. The database gives a row its id when it is flushed, so a row read back or
    flushed always has one; None here is a row used before its flush, a mistake in the code."""
    if row.id is None:
        raise RuntimeError(f"a {type(row).__name__} row has no id until it is flushed")
    return row.id


def utcnow() -> datetime:
    """Moments of recording are timezone-aware UTC (sqlmodel refuses naive datetimes)."""
    return datetime.now(UTC)
