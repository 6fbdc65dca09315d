"""The exact letter sent (docs/architecture.md#letters): the register keeps the bytes of every issued
letter with its sha256, gives them back (`letter REF --issued N`), and the appeal bundle and `export`
carry the documents as issued, the appellant's own words and each event once."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from datetime import date

import pytest
from pypdf import PdfReader

from tests.support.sql import raw_sql


def _not_met_with_pdf(db, tmp_path) -> tuple[str, bytes]:
    ref = db.json(
        "activate",
        *("--applicant", "Bob Smith", "--received", "2025-05-01", "--channel", "phone"),
        *("--statement", "Ignored"),
    )["reference"]
    db(
        "incident",
        "add",
        ref,
        *("--occurred", "2025-04-20", "--reported", "2025-04-21", "--agency", "police", "--on", "2025-05-01"),
    )
    db("letter", ref, "acknowledgement", "--format", "txt", "--on", "2025-05-02")
    db("decide", ref, "--not-met", "--on", "2025-05-06")
    pdf = tmp_path / "not-met.pdf"
    db("letter", ref, "threshold_not_met", "--format", "pdf", "-o", pdf, "--on", "2025-05-06")
    return ref, pdf.read_bytes()


@pytest.mark.slow
def test_letter_issued_gives_back_exactly_the_pdf_that_was_sent(db, tmp_path):
    ref, sent = _not_met_with_pdf(db, tmp_path)
    shown = db("show", ref).stdout
    assert "2. threshold_not_met 2025-05-06 (pdf, sha256 " in shown
    back = tmp_path / "back.pdf"
    result = db("letter", ref, "--issued", "2", "-o", back)
    assert back.read_bytes() == sent
    digest = hashlib.sha256(sent).hexdigest()
    assert db.json("show", ref)["letters"][1]["hash"] == digest
    assert f"sha256 {digest[:12]} checked" in result.stderr
    assert "the threshold for an ASB Case Review is not met" in " ".join(
        PdfReader(io.BytesIO(back.read_bytes())).pages[0].extract_text().split()
    )
    needs_file = db.fails("letter", ref, "--issued", "2")
    assert "entry 2 is a pdf: give -o FILE.pdf" in needs_file.stderr
    txt = db("letter", ref, "--issued", "1").stdout
    assert "Bob Smith" in txt


def test_register_entries_are_numbered_per_case_and_checked(db, tmp_path):
    ref = db.json(
        "activate",
        *("--applicant", "Ann Example", "--received", "2025-05-01", "--channel", "online"),
        *("--statement", "Nothing has changed"),
    )["reference"]
    issued = db("letter", ref, "acknowledgement", "--format", "txt", "--on", "2025-05-02")
    assert f"Recorded acknowledgement letter on {ref} as register entry 1" in issued.stderr
    assert db("letter", ref, "--issued", "1").stdout == issued.stdout
    missing = db.fails("letter", ref, "--issued", "2")
    assert f"{ref} has no register entry 2 (entries: 1 to 1" in missing.stderr
    none = db.fails("letter", ref)
    assert "say which letter: give KIND" in none.stderr
    # a copy altered in the database no longer matches the hash recorded when it was issued
    raw_sql("UPDATE letter_copy SET content = :c", c=b"not what was sent")
    altered = db.fails("letter", ref, "--issued", "1")
    assert "does not match the sha256 recorded when it was issued" in altered.stderr
    assert altered.stderr.count("\n") == 1


@pytest.mark.slow
def test_the_bundle_carries_letters_as_issued_the_appellants_words_each_event_once_and_real_dates(
    db, tmp_path
):
    ref, sent = _not_met_with_pdf(db, tmp_path)
    db(
        "appeal",
        ref,
        *("--received", "2025-05-20", "--grounds", "facts", "--on", "2025-05-20"),
        *("--detail", "I reported it five times, not once; nobody came"),
    )
    out = tmp_path / "bundle.zip"
    made = db("bundle", ref, "-o", out, "--on", "2025-05-21")
    assert "recorded as register entry 3" in made.stdout
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as zf:
        names = zf.namelist()
        assert "04-letters/02-2025-05-06-threshold_not_met.pdf" in names
        assert zf.read("04-letters/02-2025-05-06-threshold_not_met.pdf") == sent  # the PDF is the PDF
        assert "04-letters/01-2025-05-02-acknowledgement.txt" in names
        index = zf.read("04-letters/index.txt").decode()
        assert "as issued" in index and "re-rendered" not in index
        words = "I reported it five times, not once; nobody came"
        assert words in zf.read("06-the-appeal.txt").decode()
        assert words in zf.read("01-report-form.txt").decode()
        chronology = zf.read("02-chronology.txt").decode().splitlines()
        # each happening once: no audit line repeating the decision, the letters or the appeal
        assert sum("threshold not met" in line for line in chronology) == 1
        assert sum("threshold_not_met letter issued" in line for line in chronology) == 1
        assert sum("appeal against the threshold" in line for line in chronology) == 1
        assert not any(line.split()[1:2] == ["event"] and " decide " in f" {line} " for line in chronology)
        assert not any("event" in line.split()[1:2] and "letter by" in line for line in chronology)
        # real file dates: the letters the day they were recorded, the pages the day the bundle was made
        for info in zf.infolist():
            assert info.date_time[0] >= 2025, info.filename
            assert info.date_time[:3] != (2000, 1, 1)
    # the bundle itself is in the register, exactly as sent
    again = tmp_path / "again.zip"
    db("letter", ref, "--issued", "3", "-o", again)
    assert again.read_bytes() == out.read_bytes()


@pytest.mark.slow
def test_export_carries_the_documents_as_issued(db, tmp_path):
    ref, sent = _not_met_with_pdf(db, tmp_path)
    data = db.json("export", ref)
    docs = {d["number"]: d for d in data["documents"]}
    assert base64.b64decode(docs[2]["content_base64"]) == sent
    assert docs[2]["sha256"] == hashlib.sha256(sent).hexdigest() and docs[2]["as_issued"] is True
    assert "Documents as issued" in db("export", ref).stdout
    out = tmp_path / "export.zip"
    db("export", ref, "-o", out)
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as zf:
        assert zf.read("documents/02-2025-05-06-threshold_not_met.pdf") == sent
        assert "case.json" in zf.namelist() and "chronology.txt" in zf.namelist()


def test_purge_erases_the_letters_bytes_and_keeps_their_hashes(db):
    ref = db.json(
        "activate",
        *("--applicant", "Ann Example", "--received", "2025-05-01", "--channel", "online"),
        *("--statement", "Nothing has changed"),
    )["reference"]
    db("letter", ref, "acknowledgement", "--format", "txt", "--on", "2025-05-02")
    db("withdraw", ref, "--reason", "moved away", "--on", "2025-05-08")
    raw_sql("UPDATE review_case SET state_changed = :d", d=date(2018, 1, 1))
    db("purge", "--closed-before", "2019-01-01")
    assert raw_sql("SELECT count(*) FROM letter_copy")[0][0] == 0
    assert len(raw_sql("SELECT content_hash FROM letter")[0][0]) == 64
    gone = db.fails("letter", ref, "--issued", "1")
    assert "has no stored copy" in gone.stderr
