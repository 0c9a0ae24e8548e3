"""Question–answer files (JSON, JSON lines, CSV/TSV): multiple-choice, true/false and open questions.

The declared format, one question per row or object (field names in any case):
- `question`, `answer` (required); `id` (default: `{file stem}-{row number}`); `pmid` and `context`
  (a string, or a list of strings joined by spaces) optional;
- `options`: a list of strings, or an object keyed A..E, or CSV columns `A`..`E` (2 to 5 options);
- `type`: multiple_choice, true_false or open; without it, a row with options is multiple-choice, one
  whose answer is yes, no, maybe, true or false is true/false, any other is open.
A multiple-choice answer is an option letter (`B`, `(B)`, `b.`) or the text of an option; it is stored as
the letter. A true/false answer is stored as PubMedQA writes it: yes, no or maybe (true → yes, false → no).
PubMedQA's own files (`ori_pqal.json`: an object of PMID → {QUESTION, CONTEXTS, final_decision, ...}) read
as the same format: the key is the id and the PMID, `final_decision` the answer, `CONTEXTS` the context.
An id is only unique within its file (two files may both number rows `questions-1`, or share PubMedQA's
PMIDs), so every item carries `file`, a short hash of its file's bytes, for record ids to include: the
same file gives the same ids on any machine, two different files never clash.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from molbridge.data.formats.common import Problem, read_json_items
from molbridge.data.tables import read_table, read_text
from molbridge.errors import FileFormatError
from molbridge.tasks.documents import QAItem
from molbridge.tasks.list_answers import LETTERS, TRUE_FALSE

SOURCE = "qa"
LICENSE = "the question file's own (PubMedQA: MIT)"
TYPES = ("multiple_choice", "true_false", "open")
_LETTER = re.compile(r"^\(?([A-Ea-e])[.)]?$")


def read_qa(path: str | Path, *, problems: list[Problem] | None = None) -> Iterator[QAItem]:
    """The questions of a file in file order; a file that cannot be read as JSON, JSON lines or a table raises."""
    problems = problems if problems is not None else []
    path = Path(path)
    rows = _table_rows(path) if path.suffix.lower() in (".csv", ".tsv") else _json_rows(path)
    file = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    return (replace(item, file=file) for number, (where, row) in enumerate(rows, start=1)
            if (item := _checked(where, row, f"{path.stem}-{number}", problems)))


def _table_rows(path: Path) -> list[tuple[str, Any]]:
    """Each row as a dict (a ragged row as the reason it cannot be read), through the project's table reader."""
    header, rows = read_table(path, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
    if not any(name.lower() == "question" for name in header):
        raise FileFormatError(str(path), 1, "no 'question' column in the header")
    return [(f"{path}:{row.line}", ValueError(f"ragged row ({row.ragged})") if row.ragged else row.values)
            for row in rows]


def _json_rows(path: Path) -> list[tuple[str, Any]]:
    """A JSON list or JSON lines (one object each), or an object of id → object (PubMedQA's layout)."""
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError:
        data = None  # JSON lines, or no JSON at all (read_json_items says which)
    if isinstance(data, dict) and data and all(isinstance(value, dict) for value in data.values()):
        return [(f"{path}[{key}]", {"id": key, "pmid": key, **value}) for key, value in data.items()]
    return read_json_items(path)[0]


def _checked(where: str, row: Any, default_id: str, problems: list[Problem]) -> QAItem | None:
    try:
        return _item(where, row, default_id)
    except ValueError as err:
        problems.append(Problem(where, str(err)))
        return None


def _text(value: Any) -> str:
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    return " ".join(str(value).split()) if value is not None else ""


def _item(where: str, row: Any, default_id: str) -> QAItem:
    if isinstance(row, json.JSONDecodeError):
        raise ValueError(f"not JSON: {row.msg}")
    if isinstance(row, ValueError):  # a ragged table row
        raise row
    if not isinstance(row, dict):
        raise ValueError(f"expected an object, got {type(row).__name__}")
    fields = {str(key).strip().lower(): value for key, value in row.items()}
    qid = _text(fields.get("id")) or default_id
    question, answer = _text(fields.get("question")), _text(fields.get("answer", fields.get("final_decision")))
    if not question or not answer:
        raise ValueError(f"id {qid}: missing {'question' if not question else 'answer'}")
    options = _options(fields)
    kind = _text(fields.get("type")) or _inferred(options, answer)
    if kind not in TYPES:
        raise ValueError(f"id {qid}: unknown type {kind!r} (known: {', '.join(TYPES)})")
    if kind == "multiple_choice":
        answer = _letter(qid, answer, options)
    elif kind == "true_false":
        if answer.lower().rstrip(".") not in TRUE_FALSE:
            raise ValueError(f"id {qid}: a true/false answer must be yes, no, maybe, true or false, not {answer!r}")
        answer = TRUE_FALSE[answer.lower().rstrip(".")]
    context = _text(fields.get("context", fields.get("contexts")))
    return QAItem(qid, kind, question, answer, options if kind == "multiple_choice" else (), context,
                  _text(fields.get("pmid")), f"{where} id {qid}")


def _options(fields: dict[str, Any]) -> tuple[str, ...]:
    given = fields.get("options")
    if isinstance(given, dict):
        given = [given[key] for key in sorted(given)]
    if given is None:
        given = [fields[letter] for letter in LETTERS.lower() if _text(fields.get(letter))]
    if not isinstance(given, list):
        raise ValueError("options must be a list, an object keyed A..E or columns A..E")
    return tuple(_text(option) for option in given)


def _inferred(options: tuple[str, ...], answer: str) -> str:
    if options:
        return "multiple_choice"
    return "true_false" if answer.lower().rstrip(".") in TRUE_FALSE else "open"


def _letter(qid: str, answer: str, options: tuple[str, ...]) -> str:
    """The option letter of a multiple-choice answer: given as a letter, or as an option's text."""
    if not 2 <= len(options) <= len(LETTERS):
        raise ValueError(f"id {qid}: a multiple-choice question needs 2 to {len(LETTERS)} options, not {len(options)}")
    letters = LETTERS[:len(options)]
    found = _LETTER.match(answer)
    if found and found[1].upper() in letters:
        return found[1].upper()
    if answer in options:
        return letters[options.index(answer)]
    raise ValueError(f"id {qid}: answer {answer!r} is not among the options ({letters[0]}–{letters[-1]})")
