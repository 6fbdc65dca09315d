"""Refuse a commit message whose subject line is over 72 characters (pre-commit's commit-msg hook).

The subject says why in a few words; the details go in the body, after a blank line.
"""

import sys
from pathlib import Path

LIMIT = 72

subject = Path(sys.argv[1]).read_text(encoding="utf-8").splitlines()[0] if len(sys.argv) > 1 else ""
if len(subject) > LIMIT:
    print(f"the commit subject is {len(subject)} characters; keep it to {LIMIT} and put the rest in the body")
    sys.exit(1)
