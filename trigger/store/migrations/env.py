"""Alembic environment: run against the connection `trigger.store.db` hands over (never a config file URL).

Batch mode ("move and copy") is rendered for SQLite, which lacks most ALTER TABLE; the metadata's
naming convention (table_base.py) gives every constraint the name a batch migration needs.
"""

from alembic import context

from trigger.store.models import metadata as target_metadata  # every table, built


def include_name(name, type_, parent_names):
    # only our own tables: an APScheduler job store or a DBA's extra table is never proposed for dropping
    if type_ == "table":
        return name in target_metadata.tables or name == "alembic_version"
    return True


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "run migrations through `trigger db upgrade` (trigger.store.db.upgrade), not the alembic CLI"
        )
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
