"""The exact bytes of each letter issued (`letter_copy`), which every letter issued writes and nothing
else of a letter reads: a table of `trigger.store.models`, built the first time a command names it
(docs/architecture.md#speed)."""

# No `from __future__ import annotations` here: pydantic would then evaluate every field's annotation
# from its string, a cost each write command pays at start-up (docs/architecture.md#speed).
from sqlalchemy import Column
from sqlmodel import Field

from trigger.store.sealed import SealedBytes
from trigger.store.table_base import TableBase


class LetterCopy(TableBase, table=True):
    """The exact bytes of an issued letter (or bundle), beside its register row so that reading the
    register never loads them; `trigger letter REF --issued N` gives them back."""

    __tablename__ = "letter_copy"
    letter_id: int = Field(
        foreign_key="letter.id", primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    content: bytes = Field(sa_column=Column("content", SealedBytes, nullable=False))
