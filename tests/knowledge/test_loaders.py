"""Loaders on small real files of each kind, and on broken ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pypdf import PdfReader

from knowledge.loaders import LoadError, load_folder, load_path, load_paths
from knowledge.types import Section

DATA = Path(__file__).resolve().parent / "data"
KB = DATA / "kb"
BROKEN = DATA / "broken"


def make_pdf(pages: list[list[str]], title: str | None = None) -> bytes:
    """A minimal valid PDF: each page a Helvetica text object, one ``Tj`` per line."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    font = 3 + 2 * len(pages)
    for i, lines in enumerate(pages):
        ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
        ops += [f"({line}) Tj T*" for line in lines]
        stream = "\n".join([*ops, "ET"]).encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    info = ""
    if title is not None:
        objects.append(f"<< /Title ({title}) >>".encode())
        info = f" /Info {len(objects)} 0 R"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R{info} >>\n".encode()
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- Markdown ---------------------------------------------------------------------------------


def test_markdown_front_matter_title_entity_metadata_and_heading_paths():
    [doc] = load_path(KB / "cards" / "lost-card.md", root=KB)
    assert doc.id == "cards/lost-card"
    assert doc.kind == "markdown"
    assert doc.source == (KB / "cards" / "lost-card.md").as_posix()
    assert doc.title == "Lost or stolen cards"
    assert doc.entity == "acme-bank"
    assert doc.metadata == {
        "tags": ["cards", "security"],
        "audience": "retail",
        "reviewed": "2024-05-01",  # a YAML date, kept JSON-safe
    }
    paths = [s.heading_path for s in doc.sections]
    assert paths == [
        ("Lost or stolen cards",),
        ("Lost or stolen cards", "Reporting a lost card"),
        ("Lost or stolen cards", "Reporting a lost card", "Abroad"),
        ("Lost or stolen cards", "Getting a replacement"),
        ("Fraud",),
    ]
    # Link targets and emphasis marks are gone; the words stay.
    assert doc.sections[1].text == "Call us on 0800 123 456, day or night. See the security page."
    # A '#' line inside a fenced code block is text, not a heading.
    assert "# not a heading" in doc.sections[3].text


def test_markdown_title_falls_back_to_first_h1_then_file_stem(tmp_path):
    with_h1 = write(tmp_path / "fees.md", "Intro text.\n\n# Account fees\n\nNo monthly fee.\n")
    [doc] = load_path(with_h1)
    assert doc.id == "fees"  # no root: the file name without its extension
    assert doc.title == "Account fees"
    assert doc.sections == (
        Section((), "Intro text."),
        Section(("Account fees",), "No monthly fee."),
    )
    assert doc.entity is None and doc.metadata == {}

    plain = write(tmp_path / "notes.markdown", "## Only a subheading ##\n\nSome text.\n")
    [doc] = load_path(plain)
    assert doc.title == "notes"
    assert doc.sections == (Section(("Only a subheading",), "Some text."),)


def test_markdown_sibling_headings_replace_each_other(tmp_path):
    text = "# A\n\na\n\n## B\n\nb\n\n#### D\n\nd\n\n### C\n\nc\n\n## E\n\ne\n"
    [doc] = load_path(write(tmp_path / "x.md", text))
    assert [s.heading_path for s in doc.sections] == [
        ("A",),
        ("A", "B"),
        ("A", "B", "D"),
        ("A", "B", "C"),
        ("A", "E"),
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("---\ntitle: [unclosed\n---\n# T\n\nx\n", "invalid front matter"),
        ("---\n- a list\n---\n# T\n\nx\n", "not a mapping"),
        ("---\ntitle: never closed\n# T\n", "not closed"),
        ("---\ntitle: Only front matter\n---\n\n", "no text"),
    ],
)
def test_markdown_bad_front_matter_or_no_text(tmp_path, text, reason):
    path = write(tmp_path / "bad.md", text)
    with pytest.raises(LoadError) as caught:
        load_path(path)
    assert reason in caught.value.reason
    assert caught.value.path == path


# --- plain text -------------------------------------------------------------------------------


def test_text_short_first_line_is_the_title():
    [doc] = load_path(KB / "opening-hours.txt", root=KB)
    assert (doc.id, doc.kind, doc.title) == ("opening-hours", "text", "Opening hours")
    assert doc.sections == (
        Section(
            (),
            "Our branches are open Monday to Friday, 9am to 5pm.\n"
            "On Saturdays they open from 9am to 12pm.\n\n"
            "Phone banking is open 24 hours a day, every day of the year.",
        ),
    )


def test_text_long_first_line_keeps_the_stem_as_title(tmp_path):
    first = "This first line is a long sentence. " * 4
    [doc] = load_path(write(tmp_path / "notice.txt", first + "\n\nSecond paragraph.\n"))
    assert doc.title == "notice"
    assert doc.sections[0].text.startswith("This first line")


# --- HTML -------------------------------------------------------------------------------------


def test_html_drops_noise_and_follows_headings():
    [doc] = load_path(KB / "branches.html", root=KB)
    assert (doc.id, doc.kind, doc.title) == ("branches", "html", "Branches and ATMs")
    assert doc.sections == (
        Section(("Branches",), "We have 120 branches across the country & more opening soon."),
        Section(
            ("Branches", "Finding a branch"),
            "Use the branch finder in the app.\n\nSearch by postcode.\n\nSearch by town.",
        ),
        Section(
            ("Branches", "Finding a branch", "Accessibility"), "Every branch has step-free access."
        ),
        Section(("Branches", "ATMs"), "Cash withdrawals are free at all our ATMs."),
    )
    everything = " ".join(s.text for s in doc.sections)
    for noise in ("tracking", "nor this", "Loans", "Acme Bank home", "Copyright", "sans-serif"):
        assert noise not in everything


def test_html_title_from_first_h1_without_a_title_tag(tmp_path):
    page = "<html><body><h1>Mortgages</h1><div>Fixed rates <b>for</b> 5 years.</div></body></html>"
    [doc] = load_path(write(tmp_path / "m.htm", page))
    assert doc.title == "Mortgages"
    assert doc.sections == (Section(("Mortgages",), "Fixed rates for 5 years."),)


def test_html_with_no_visible_text_is_an_error(tmp_path):
    path = write(tmp_path / "blank.html", "<html><script>x()</script><nav>Home</nav></html>")
    with pytest.raises(LoadError, match="no text"):
        load_path(path)


# --- PDF --------------------------------------------------------------------------------------


def test_pdf_pages_become_sections_and_metadata_gives_the_title(tmp_path):
    path = tmp_path / "guides" / "savings.pdf"
    path.parent.mkdir()
    pages = [["Savings guide", "Interest is paid monthly."], ["Rates can change."], []]
    path.write_bytes(make_pdf(pages, title="The savings guide"))
    assert "Interest is paid monthly." in PdfReader(path).pages[0].extract_text()

    [doc] = load_path(path, root=tmp_path)
    assert (doc.id, doc.kind, doc.title) == ("guides/savings", "pdf", "The savings guide")
    assert doc.sections == (
        Section(("Page 1",), "Savings guide\nInterest is paid monthly."),
        Section(("Page 2",), "Rates can change."),  # the empty third page gives nothing
    )


def test_pdf_title_from_first_line_without_metadata(tmp_path):
    path = tmp_path / "isa.pdf"
    path.write_bytes(make_pdf([["ISA rules", "You can pay in up to the allowance."]]))
    [doc] = load_path(path)
    assert doc.title == "ISA rules"


def test_pdf_without_text_is_an_error(tmp_path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(make_pdf([[]]))
    with pytest.raises(LoadError, match="no extractable text"):
        load_path(path)


# --- FAQ --------------------------------------------------------------------------------------


def test_jsonl_one_document_per_line():
    docs = load_path(KB / "faq" / "general.jsonl", root=KB)
    assert [d.id for d in docs] == ["card-pin", "opening-hours", "overdraft"]
    pin, hours, overdraft = docs
    assert pin.kind == "faq"
    assert pin.question == "How do I change my PIN?"
    assert pin.answer == "You can change your PIN at any of our ATMs."
    assert pin.sections == (Section((), f"{pin.question}\n{pin.answer}"),)
    assert (pin.title, pin.entity, pin.metadata) == (
        "Changing your PIN",
        "acme-bank",
        {"product": "cards"},
    )
    assert hours.title == "When are you open?"  # no title: the question
    assert hours.entity is None
    assert overdraft.metadata == {"tags": ["loans"]}  # other keys become metadata
    assert {d.source for d in docs} == {(KB / "faq" / "general.jsonl").as_posix()}


def test_jsonl_without_id_gets_path_and_line_number(tmp_path):
    path = write(tmp_path / "faq" / "misc.jsonl", '\n{"question": "Q?", "answer": "A."}\n')
    [doc] = load_path(path, root=tmp_path)
    assert doc.id == "faq/misc-2"


def test_csv_columns_id_title_entity_and_metadata():
    docs = load_path(KB / "faq" / "fees.csv", root=KB)
    assert [d.id for d in docs] == ["faq/fees-1", "faq/fees-2"]
    foreign, replacement = docs
    assert foreign.question == "How much is a foreign payment?"
    assert foreign.answer == "A foreign payment costs 2 pounds, or nothing in euros."
    assert foreign.title == foreign.question
    assert foreign.metadata == {"product": "payments", "region": "EU"}
    assert replacement.title == "Replacement card fees"
    assert replacement.metadata == {"product": "cards"}  # empty cells are left out


def test_csv_id_and_entity_columns(tmp_path):
    text = "ID,Question,Answer,Entity\nfee-1,Is it free?,Yes.,acme-bank\n"
    [doc] = load_path(write(tmp_path / "f.csv", text))
    assert (doc.id, doc.entity, doc.metadata) == ("fee-1", "acme-bank", {})


# --- broken files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("bad-utf8.md", "not valid UTF-8 (byte 0xe9 at offset 16)"),
        ("truncated.pdf", "not a readable PDF"),
        ("bad-line.jsonl", "line 2: invalid JSON"),
        ("no-answer.csv", "no 'answer' column (columns: question, reply)"),
        ("empty.txt", "empty file"),
        ("duplicate-ids.jsonl", "line 2: duplicate id 'same' (line 1)"),
        ("missing-answer.jsonl", "line 1: missing answer"),
    ],
)
def test_broken_files_raise_one_line_load_errors(name, reason):
    path = BROKEN / name
    with pytest.raises(LoadError) as caught:
        load_path(path)
    error = caught.value
    assert error.path == path
    assert reason in error.reason
    assert str(error) == f"{path}: {error.reason}"
    assert "\n" not in str(error)


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("a.jsonl", '{"id": 1, "question": "Q?", "answer": ""}\n', "line 1: missing answer"),
        ("b.jsonl", '["not", "an", "object"]\n', "line 1: not a JSON object"),
        ("c.jsonl", '{"question": "Q?", "answer": 3}\n', "line 1: answer is not text"),
        ("d.jsonl", "\n\n", "empty file"),
        ("e.csv", "question,answer\nQ?,\n", "row 1: missing answer"),
        ("f.csv", "question,answer\nQ?,A.,extra\n", "row 1: 3 fields for 2 columns"),
        ("g.csv", "question,answer\n", "no FAQ entries"),
        ("h.csv", "question,answer,answer\nQ?,A.,B.\n", "repeated column names"),
        ("i.txt", "  \n\n\t\n", "empty file"),
    ],
)
def test_bad_faq_rows_fail_the_whole_file(tmp_path, name, text, reason):
    with pytest.raises(LoadError) as caught:
        load_path(write(tmp_path / name, text))
    assert reason in caught.value.reason


def test_every_problem_in_a_faq_file_is_reported(tmp_path):
    lines = [
        '{"id": "a", "question": "Q?"}',
        "{oops",
        '{"id": "a", "question": "Q?", "answer": "A."}',
    ]
    lines.append('{"id": "a", "question": "Q2?", "answer": "A2."}')
    with pytest.raises(LoadError) as caught:
        load_path(write(tmp_path / "faq.jsonl", "\n".join(lines)))
    reason = caught.value.reason
    assert "line 1: missing answer" in reason
    assert "line 2: invalid JSON" in reason
    assert "line 4: duplicate id 'a' (line 3)" in reason


def test_unsupported_or_missing_file(tmp_path):
    with pytest.raises(LoadError, match="unsupported file type '.docx'"):
        load_path(tmp_path / "letter.docx")
    with pytest.raises(LoadError, match="no such file"):
        load_path(tmp_path / "gone.md")


# --- folders ----------------------------------------------------------------------------------


def test_load_folder_collects_errors_and_loads_the_rest():
    report = load_folder(DATA)
    assert [d.id for d in report.documents] == [
        "kb/branches",
        "kb/cards/lost-card",
        "kb/faq/fees-1",
        "kb/faq/fees-2",
        "card-pin",
        "opening-hours",
        "overdraft",
        "kb/opening-hours",
    ]
    assert sorted(e.path.name for e in report.errors) == sorted(p.name for p in BROKEN.iterdir())
    assert report.skipped == [KB / "notes.rst"]  # hidden files and folders are not even listed


def test_load_paths_mixes_files_and_folders(tmp_path):
    pdf = tmp_path / "rates.pdf"
    pdf.write_bytes(make_pdf([["Rates", "Our rates are fixed."]]))
    report = load_paths(
        [KB / "faq", pdf, BROKEN / "empty.txt", tmp_path / "missing", KB / "notes.rst"]
    )
    assert [d.id for d in report.documents] == [
        "fees-1",
        "fees-2",
        "card-pin",
        "opening-hours",
        "overdraft",
        "rates",
    ]
    assert [str(e) for e in report.errors] == [
        f"{BROKEN / 'empty.txt'}: empty file",
        f"{tmp_path / 'missing'}: no such file or folder",
        f"{KB / 'notes.rst'}: unsupported file type '.rst'",
    ]


def test_load_paths_with_a_root_gives_folder_ids():
    report = load_paths([KB / "cards" / "lost-card.md", KB / "faq"], root=KB)
    assert [d.id for d in report.documents][:3] == ["cards/lost-card", "faq/fees-1", "faq/fees-2"]
    report = load_paths([BROKEN / "empty.txt"], root=KB)
    assert "not inside" in report.errors[0].reason


def test_a_document_id_taken_by_an_earlier_file_fails_the_later_file(tmp_path):
    write(tmp_path / "hours.md", "# Hours\n\nNine to five.\n")
    write(tmp_path / "hours.txt", "Nine to five.\n")
    shutil.copy(KB / "faq" / "general.jsonl", tmp_path / "a.jsonl")
    shutil.copy(KB / "faq" / "general.jsonl", tmp_path / "b.jsonl")
    report = load_folder(tmp_path)
    assert [d.id for d in report.documents] == ["card-pin", "opening-hours", "overdraft", "hours"]
    assert [str(e) for e in report.errors] == [
        f"{tmp_path / 'b.jsonl'}: document id 'card-pin' is also in {tmp_path / 'a.jsonl'}",
        f"{tmp_path / 'hours.txt'}: document id 'hours' is also in {tmp_path / 'hours.md'}",
    ]
