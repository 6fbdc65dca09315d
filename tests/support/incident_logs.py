"""An incident log as a partner sends it: ECINS's headers, UK dates, Excel's CSV (CRLF, any encoding)."""

from __future__ import annotations

import csv
import io

ECINS_HEADER = [
    "Victim ID",
    "Date of Incident",
    "Date Reported",
    "Agency",
    "Reference",
    "Hate Crime/Incident",
    "Incident Type",
    "Location",
    "Summary",
]
ECINS_ROWS = [
    [
        "V-0001",
        "10/01/2026",
        "12/01/2026",
        "Leicestershire Police",
        "P/2026/1",
        "No",
        "Noise",
        "Café Row",
        "£250 damage",
    ],
    ["V-0001", "01/02/2026", "01/02/2026", "cbc", "C-1", "Racial", "Abuse", "", "José was abused"],
    ["V-0001", "01/03/2026", "03/03/2026 09:30", "emh", "H-1", "", "Noise", "", ""],
    ["V-0002", "05/03/2026", "06/03/2026", "police", "P/2026/2", "Religion/Belief", "", "Shepshed", ""],
]


def csv_bytes(rows, encoding: str) -> bytes:
    """Rows as a spreadsheet program saves them as CSV, in `encoding`."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)  # Excel writes CRLF
    return buf.getvalue().encode(encoding)
