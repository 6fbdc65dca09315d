"""The rules, pure: plain values in, plain values out. Nothing here imports SQLAlchemy or click or
opens a file other than a policy's own TOML (tests/test_architecture.py holds this), so the rules are
cheap to test with hypothesis and fast inside a scan of a million complaints.

- `calendar`: working days, bank holidays, "N months beginning with" (the one place dates are counted)
- `dates`: ISO text and long dates, in English and Welsh (the one place dates are written)
- `threshold`: complaints in, the s.104 decision and its explanation out
- `deadlines`: which deadlines a case has and when they fall due
- `policy`: the policy model (pydantic, unknown keys refused) and its loading
"""
