"""Files -> ``Document``s: Markdown, plain text, HTML, PDF and FAQ files (JSONL, CSV).

A file is loaded whole or not at all: a bad line in a FAQ file, bytes that are not UTF-8 or
a PDF that does not parse make one ``LoadError`` naming the file and the reason, and a
folder walk collects it and goes on with the rest. Document ids are stable across re-ingests:
the FAQ ``id``, otherwise the path relative to the ingested root without its extension.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from html.parser import HTMLParser
from pathlib import Path

import yaml

from knowledge.types import Document, Section

MAX_TITLE_CHARS = 100
"""A first line longer than this is a sentence, not a title."""


class LoadError(Exception):
    """A file that could not be turned into documents; ``str()`` is ``"path: reason"``."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


@dataclass
class LoadReport:
    """What a folder (or a list of paths) produced: documents, failed files, ignored files."""

    documents: list[Document] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)


# --- shared helpers ---------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise LoadError(path, f"cannot read: {e.strerror or e}") from e
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise LoadError(
            path, f"not valid UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start})"
        ) from e
    if not text.strip():
        raise LoadError(path, "empty file")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _document_id(path: Path, root: Path | None) -> str:
    if root is None:
        return path.stem
    return path.relative_to(root).with_suffix("").as_posix()


def _paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs, trailing spaces trimmed, empty ones dropped."""
    paragraphs = []
    for block in re.split(r"\n[ \t]*\n", text):
        block = "\n".join(line.rstrip() for line in block.split("\n")).strip()
        if block:
            paragraphs.append(block)
    return paragraphs


def _first_line_title(text: str) -> str | None:
    first = text.strip().split("\n", 1)[0].strip()
    return first if first and len(first) <= MAX_TITLE_CHARS else None


def _plain(value):
    """YAML values made JSON-safe: dates as ISO strings, keys as strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def _no_text(path: Path) -> LoadError:
    return LoadError(path, "no text found")


# --- Markdown ---------------------------------------------------------------------------------

_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_INLINE = [
    (re.compile(r"<!--.*?-->", re.S), ""),
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images: keep the alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links: keep the link text
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])"), r"\1"),
    (re.compile(r"`([^`\n]+)`"), r"\1"),
]


def _strip_inline(text: str) -> str:
    """Markup a listener should not hear: link targets, emphasis marks, code ticks."""
    for pattern, replacement in _INLINE:
        text = pattern.sub(replacement, text)
    return text


def _front_matter(path: Path, text: str) -> tuple[dict, str]:
    if not text.startswith("---\n"):
        return {}, text
    end = re.search(r"^(?:---|\.\.\.)[ \t]*$", text[4:], re.M)
    if end is None:
        raise LoadError(path, "front matter is not closed with '---'")
    try:
        meta = yaml.safe_load(text[4 : 4 + end.start()])
    except yaml.YAMLError as e:
        reason = " ".join(str(e).split())
        raise LoadError(path, f"invalid front matter: {reason}") from e
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise LoadError(path, "front matter is not a mapping of keys to values")
    return _plain(meta), text[4 + end.end() :]


def _load_markdown(path: Path, root: Path | None) -> list[Document]:
    meta, body = _front_matter(path, _read_text(path))
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    lines: list[str] = []
    first_h1: str | None = None
    in_fence = False

    def flush() -> None:
        text = "\n\n".join(_paragraphs(_strip_inline("\n".join(lines))))
        if text:
            sections.append(Section(tuple(h for _, h in stack), text))
        lines.clear()

    for line in body.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence  # keep the code, drop the fence
            continue
        heading = None if in_fence else _HEADING.match(line)
        if heading is None:
            lines.append(line)
            continue
        flush()
        level, name = len(heading.group(1)), _strip_inline(heading.group(2)).strip()
        if not name:
            continue
        if level == 1 and first_h1 is None:
            first_h1 = name
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, name))
    flush()
    if not sections:
        raise _no_text(path)
    title = meta.pop("title", None) or first_h1 or path.stem
    entity = meta.pop("entity", None)
    return [
        Document(
            id=_document_id(path, root),
            kind="markdown",
            source=path.as_posix(),
            title=str(title),
            sections=tuple(sections),
            entity=None if entity is None else str(entity),
            metadata=meta,
        )
    ]


# --- plain text -------------------------------------------------------------------------------


def _load_text(path: Path, root: Path | None) -> list[Document]:
    paragraphs = _paragraphs(_read_text(path))
    if not paragraphs:
        raise _no_text(path)
    title = _first_line_title(paragraphs[0])
    if title is not None and paragraphs[0] == title and len(paragraphs) > 1:
        paragraphs = paragraphs[1:]  # a one-line first paragraph is the heading of the file
    return [
        Document(
            id=_document_id(path, root),
            kind="text",
            source=path.as_posix(),
            title=title or path.stem,
            sections=(Section((), "\n\n".join(paragraphs)),),
        )
    ]


# --- HTML -------------------------------------------------------------------------------------


class _HTMLText(HTMLParser):
    """Visible text grouped into paragraphs under the h1-h6 heading path."""

    SKIP = frozenset({"script", "style", "nav", "header", "footer", "noscript", "template", "svg"})
    BLOCK = frozenset(
        """p li td th dt dd div section article main aside blockquote pre ul ol table tr
        caption figcaption form address br hr""".split()
    )
    HEADINGS = {f"h{n}": n for n in range(1, 7)}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title: str | None = None
        self.first_h1: str | None = None
        self.sections: list[Section] = []
        self._skip = 0
        self._in_title = False
        self._heading: tuple[int, list[str]] | None = None
        self._stack: list[tuple[int, str]] = []
        self._words: list[str] = []
        self._paragraphs: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self.SKIP:
            self._skip += 1
        elif self._skip:
            return
        elif tag == "title":
            self._in_title, self._title_parts = True, []
        elif tag in self.HEADINGS:
            self._end_section()
            self._heading = (self.HEADINGS[tag], [])
        elif tag in self.BLOCK:
            self._end_paragraph()

    def handle_startendtag(self, tag: str, attrs) -> None:
        if tag in self.BLOCK and not self._skip:
            self._end_paragraph()

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self._skip = max(0, self._skip - 1)
        elif self._skip:
            return
        elif tag == "title" and self._in_title:
            self._in_title = False
            self.title = " ".join(" ".join(self._title_parts).split()) or None
        elif tag in self.HEADINGS and self._heading is not None:
            level, parts = self._heading
            self._heading = None
            name = " ".join(" ".join(parts).split())
            if not name:
                return
            if level == 1 and self.first_h1 is None:
                self.first_h1 = name
            while self._stack and self._stack[-1][0] >= level:
                self._stack.pop()
            self._stack.append((level, name))
        elif tag in self.BLOCK:
            self._end_paragraph()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in_title:
            self._title_parts.append(data)
        elif self._heading is not None:
            self._heading[1].append(data)
        else:
            self._words.extend(data.split())

    def close(self) -> None:
        super().close()
        self._end_section()

    def _end_paragraph(self) -> None:
        if self._words:
            self._paragraphs.append(" ".join(self._words))
            self._words = []

    def _end_section(self) -> None:
        self._end_paragraph()
        if self._paragraphs:
            path = tuple(name for _, name in self._stack)
            self.sections.append(Section(path, "\n\n".join(self._paragraphs)))
            self._paragraphs = []


def _load_html(path: Path, root: Path | None) -> list[Document]:
    parser = _HTMLText()
    parser.feed(_read_text(path))
    parser.close()
    if not parser.sections:
        raise _no_text(path)
    return [
        Document(
            id=_document_id(path, root),
            kind="html",
            source=path.as_posix(),
            title=parser.title or parser.first_h1 or path.stem,
            sections=tuple(parser.sections),
        )
    ]


# --- PDF --------------------------------------------------------------------------------------


def _load_pdf(path: Path, root: Path | None) -> list[Document]:
    """One section per page, headed ``Page N`` so that a citation can name the page."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError(path, "encrypted PDF")
        pages = [page.extract_text() or "" for page in reader.pages]
        info_title = (reader.metadata or {}).get("/Title")
    except LoadError:
        raise
    except OSError as e:
        raise LoadError(path, f"cannot read: {e.strerror or e}") from e
    except Exception as e:  # pypdf raises many kinds for a damaged file
        raise LoadError(path, f"not a readable PDF ({type(e).__name__}: {e})") from e
    sections = []
    for number, text in enumerate(pages, 1):
        paragraphs = _paragraphs(text.replace("\r\n", "\n").replace("\r", "\n"))
        if paragraphs:
            sections.append(Section((f"Page {number}",), "\n\n".join(paragraphs)))
    if not sections:
        raise LoadError(path, "no extractable text (a scanned PDF needs OCR first)")
    title = str(info_title).strip() if info_title else ""
    return [
        Document(
            id=_document_id(path, root),
            kind="pdf",
            source=path.as_posix(),
            title=title or _first_line_title(sections[0].text) or path.stem,
            sections=tuple(sections),
        )
    ]


# --- FAQ (JSONL, CSV) -------------------------------------------------------------------------

_FAQ_FIELDS = ("id", "question", "answer", "title", "entity", "metadata")


def _faq_document(path: Path, doc_id: str, item: dict, metadata: dict) -> Document:
    question, answer = item["question"].strip(), item["answer"].strip()
    title = str(item.get("title") or "").strip()
    entity = str(item.get("entity") or "").strip()
    return Document(
        id=doc_id,
        kind="faq",
        source=path.as_posix(),
        title=title or question,
        sections=(Section((), f"{question}\n{answer}"),),
        entity=entity or None,
        metadata=metadata,
        question=question,
        answer=answer,
    )


def _faq_problems(item: dict) -> list[str]:
    problems = []
    for key in ("question", "answer"):
        value = item.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            problems.append(f"missing {key}")
        elif not isinstance(value, str):
            problems.append(f"{key} is not text")
    return problems


Rows = Iterator[tuple[str, int, dict | str]]
"""(``line 3`` or ``row 2``, that number, the entry or the problem the reader found)."""


def _collect(path: Path, rows: Rows, build: Callable[[int, dict], Document]) -> list[Document]:
    """Build a document per row; any problem anywhere fails the whole file."""
    documents: list[Document] = []
    problems: list[str] = []
    first_seen: dict[str, str] = {}
    for where, number, item in rows:
        if isinstance(item, str):  # a problem the row reader found
            problems.append(f"{where}: {item}")
            continue
        found = _faq_problems(item)
        if found:
            problems.extend(f"{where}: {p}" for p in found)
            continue
        document = build(number, item)
        if document.id in first_seen:
            problems.append(f"{where}: duplicate id {document.id!r} ({first_seen[document.id]})")
            continue
        first_seen[document.id] = where
        documents.append(document)
    if problems:
        more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise LoadError(path, "; ".join(problems[:5]) + more)
    if not documents:
        raise LoadError(path, "no FAQ entries")
    return documents


def _load_jsonl(path: Path, root: Path | None) -> list[Document]:
    base = _document_id(path, root)

    def rows() -> Rows:
        for number, line in enumerate(_read_text(path).split("\n"), 1):
            if not line.strip():
                continue
            where = f"line {number}"
            try:
                item = json.loads(line)
            except json.JSONDecodeError as e:
                yield where, number, f"invalid JSON ({e.msg} at column {e.colno})"
                continue
            if not isinstance(item, dict):
                yield where, number, "not a JSON object"
            elif not isinstance(item.get("metadata") or {}, dict):
                yield where, number, "metadata is not an object"
            else:
                yield where, number, item

    def build(number: int, item: dict) -> Document:
        doc_id = str(item.get("id") if item.get("id") is not None else "").strip()
        extra = {k: v for k, v in item.items() if k not in _FAQ_FIELDS}
        metadata = extra | (item.get("metadata") or {})
        return _faq_document(path, doc_id or f"{base}-{number}", item, metadata)

    return _collect(path, rows(), build)


def _load_csv(path: Path, root: Path | None) -> list[Document]:
    base = _document_id(path, root)
    reader = csv.reader(io.StringIO(_read_text(path), newline=""))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except (StopIteration, csv.Error) as e:
        raise LoadError(path, f"no header row ({e})" if str(e) else "no header row") from e
    for required in ("question", "answer"):
        if required not in header:
            raise LoadError(path, f"no {required!r} column (columns: {', '.join(header)})")
    if len(set(header)) != len(header):
        raise LoadError(path, f"repeated column names ({', '.join(header)})")

    def rows() -> Rows:
        number = 0
        try:
            for values in reader:
                if not any(v.strip() for v in values):
                    continue
                number += 1
                if len(values) > len(header):
                    problem = f"{len(values)} fields for {len(header)} columns"
                    yield f"row {number}", number, problem
                else:
                    yield f"row {number}", number, dict(zip(header, values, strict=False))
        except csv.Error as e:
            yield f"row {number + 1}", number + 1, f"not valid CSV ({e})"

    def build(number: int, item: dict) -> Document:
        doc_id = (item.get("id") or "").strip() or f"{base}-{number}"
        metadata = {
            k: v.strip() for k, v in item.items() if k not in _FAQ_FIELDS and v and v.strip()
        }
        return _faq_document(path, doc_id, item, metadata)

    return _collect(path, rows(), build)


# --- dispatch and walking ---------------------------------------------------------------------

_LOADERS: dict[str, Callable[[Path, Path | None], list[Document]]] = {
    ".md": _load_markdown,
    ".markdown": _load_markdown,
    ".txt": _load_text,
    ".html": _load_html,
    ".htm": _load_html,
    ".pdf": _load_pdf,
    ".jsonl": _load_jsonl,
    ".csv": _load_csv,
}

SUPPORTED_EXTENSIONS = frozenset(_LOADERS)


def load_path(path: Path, root: Path | None = None) -> list[Document]:
    """The documents in one file; raises ``LoadError`` if the file cannot be used whole.

    ``root`` is the folder ids are relative to (``cards/lost-card``); without it the id is the
    file name without its extension.
    """
    path = Path(path)
    loader = _LOADERS.get(path.suffix.lower())
    if loader is None:
        raise LoadError(path, f"unsupported file type {path.suffix or '(no extension)'!r}")
    if not path.is_file():
        raise LoadError(path, "not a file" if path.exists() else "no such file")
    if root is not None and not path.is_relative_to(root):
        raise LoadError(path, f"not inside {root}, the folder ids are relative to")
    return loader(path, None if root is None else Path(root))


def _walk(folder: Path, seen: set[Path]) -> Iterator[Path]:
    real = folder.resolve()
    if real in seen:  # a symlink loop
        return
    seen.add(real)
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            yield from _walk(entry, seen)
        elif entry.is_file():
            yield entry


def _add(report: LoadReport, path: Path, root: Path | None, owners: dict[str, Path]) -> None:
    try:
        documents = load_path(path, root)
    except LoadError as e:
        report.errors.append(e)
        return
    for document in documents:
        if document.id in owners:
            report.errors.append(
                LoadError(path, f"document id {document.id!r} is also in {owners[document.id]}")
            )
            return
    for document in documents:
        owners[document.id] = path
    report.documents.extend(documents)


def _load_into(report: LoadReport, path: Path, root: Path | None, owners: dict[str, Path]) -> None:
    if path.is_dir():
        try:
            files = list(_walk(path, set()))
        except OSError as e:
            report.errors.append(LoadError(path, f"cannot list folder: {e.strerror or e}"))
            return
        for file in files:
            if file.suffix.lower() in SUPPORTED_EXTENSIONS:
                _add(report, file, root or path, owners)
            else:
                report.skipped.append(file)
    elif path.exists():
        _add(report, path, root, owners)
    else:
        report.errors.append(LoadError(path, "no such file or folder"))


def load_folder(root: Path) -> LoadReport:
    """Every supported file under ``root``, in sorted order; hidden files and folders ignored.

    Unknown extensions are listed in ``skipped``; files that fail are listed in ``errors`` and
    the rest still load. A document id already taken by an earlier file fails the later file.
    """
    report = LoadReport()
    _load_into(report, Path(root), None, {})
    return report


def load_paths(paths: list[Path], *, root: Path | None = None) -> LoadReport:
    """``load_folder`` for each folder and ``load_path`` for each file, in one report.

    Without ``root`` a folder is its own root for ids and a file named on its own gets its
    file name as its id; with it every id is relative to ``root``, so that naming one file
    of a knowledge base gives it the same id as ingesting the whole folder.
    """
    report = LoadReport()
    owners: dict[str, Path] = {}
    for path in paths:
        _load_into(report, Path(path), None if root is None else Path(root), owners)
    return report


__all__ = [
    "LoadError",
    "LoadReport",
    "SUPPORTED_EXTENSIONS",
    "load_folder",
    "load_path",
    "load_paths",
]
