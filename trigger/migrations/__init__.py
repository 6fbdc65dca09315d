"""The schema's Alembic migrations, shipped inside the package (`script_location = trigger:migrations`)."""
