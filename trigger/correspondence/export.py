"""`trigger export REF`: a case as `show --json` gives it, its chronology, and every document in its
register exactly as issued; as JSON, or as a zip."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from trigger.correspondence.register import issued_documents
from trigger.read import views
from trigger.read.chronology import chronology
from trigger.rules.dates import iso
from trigger.store.access import READ_CASE, needs
from trigger.store.app import App
from trigger.store.outputs import zip_files
from trigger.store.unit import find_case


@needs(READ_CASE)
def export_case(app: App, reference: str) -> dict:
    """`trigger export REF`: the case as `show --json` gives it, its chronology, and every document in
    its register exactly as issued (base64 of the bytes sent, with their sha256)."""
    with app.read() as session:
        case = find_case(session, reference)
        documents = [
            {
                "number": d["number"],
                "kind": d["row"].kind,
                "issued_on": iso(d["row"].issued_on),
                "format": d["row"].format,
                "recipient": d["row"].recipient,
                "sha256": d["row"].content_hash,
                "file": d["name"],
                "as_issued": d["intact"],
                "content_base64": base64.b64encode(d["content"]).decode("ascii") if d["content"] else None,
                "recorded": d["row"].created_at,
            }
            for d in issued_documents(session, case, exclude_bundles=False)
        ]
        return {
            "case": views.case_view(session, case),
            "chronology": chronology(session, case),
            "documents": documents,
        }


def export_zip(data: dict) -> bytes:
    """`trigger export REF -o FILE.zip`: case.json, chronology.txt and the documents as issued."""
    now = datetime.now(UTC)
    case = data["case"]
    lines = [f"Chronology of {case['reference']} ({case['state']}), received {case['received']}", ""]
    lines += [f"{item['date']}  {item['kind']:24} {item['summary']}" for item in data["chronology"]]
    meta = {
        **data,
        "documents": [{k: v for k, v in d.items() if k != "content_base64"} for d in data["documents"]],
    }
    files = [
        ("case.json", json.dumps(meta, indent=2, default=str, ensure_ascii=False).encode(), now),
        ("chronology.txt", ("\n".join(lines) + "\n").encode(), now),
    ]
    for d in data["documents"]:
        if d["content_base64"]:
            files.append((f"documents/{d['file']}", base64.b64decode(d["content_base64"]), d["recorded"]))
    return zip_files(files)
