"""Letters about a case, one module per job (docs/architecture.md#letters):

- `eligibility`: which letters a case may have on a given day, and why not;
- `context`: the facts a letter template receives;
- `register`: issuing a letter, the register of letters issued, their bytes and numbers;
- `appeal_bundle`: the appeal bundle;
- `dispatch`: a letter that leaves by e-mail, text or post, or whose edited version is recorded;
- `export`: a case and its register exactly as issued, for `trigger export`.
"""
