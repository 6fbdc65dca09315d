"""The schema's Alembic migrations, shipped inside the package (`trigger.store:migrations`)."""
