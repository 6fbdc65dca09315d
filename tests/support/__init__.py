"""What the tests share besides fixtures (which live in `tests/conftest.py` alone), one module a job:

- `databases`: which database engine this run uses, the per-test SQLite file and PostgreSQL schema;
- `runner`: the real command line through CliRunner (`Runner`, handed out as `trigger` and `db`);
- `sql`: SQL behind the program's back (`raw_sql`) and the whole database as data (`database_dump`);
- `cases`: cases as a clerk records them, and a performance year of cases;
- `letters`: cases walked through every letter, a letterhead policy, PDFs read back;
- `incident_logs`: a partner's incident export as Excel saves it;
- `mailservers`: real SMTP servers on loopback and the figures of a mail-fault scenario;
- `forks`: commands in processes of their own, forked from a launcher that has imported their libraries;
- `racers`: real processes started together, for the races.

Tests import from here, never from `conftest` or from another test module.
"""
