"""Storage and the transaction: what every use-case stands on.

- `tables` (Core tables for the fast read paths, generated) and `models` (the SQLModel tables)
- `app` (settings, the engine, sessions, `retried`, the writers' lock) and `db` (migrations, schema
  state, backups); `migrations/` holds Alembic's revisions
- `access`: who is acting and what they may do, checked when a transaction opens
- `audit` (the hash-chained log) and `seal` (a case's free text under the case's own key)
- `unit`: the unit of work (`changing`) and how a use-case finds a case, an agency, a partnership
  and its policy
- `schedule`: the deadline and reminder rows, refreshed inside every change
- `partnerships`: a partnership's own settings (its row, its manager's address) as use-cases read them
- `outputs` (files written: temporary file, then renamed)
- `channels`, the way a message leaves: `notify` (GOV.UK Notify) or `mail` (SMTP or the outbox)
"""
