"""Who and where: the partnerships and their agencies (`partnership`, with `trigger init`), the
people and their roles (`people`), and what PostgreSQL itself enforces for each role (`grants`).
The check made on every transaction lives with the transaction, in `trigger.store.access`."""
