"""Answers that are lists or closed choices, read from free replies: names (domains, motifs), extracted items
(mentions, relations), option letters and yes/no/maybe, and EC numbers.

Models answer these in many shapes (bullets, labels, markdown, a preamble line, a sentence around the
letter), so each reader says which shapes it accepts; `answers` turns them into answer kinds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from molbridge.protein.ec import ec_numbers

# "Answer: ...": a label a reply may open with, before the answer itself
ANSWER_LABEL = re.compile(r"^\s*(caption|molecule|smiles|selfies|inchi|answer|sequence|output)\s*:\s*", re.IGNORECASE)
_BULLET = re.compile(r"^(?:[-*•]|\d+[.)])\s+")  # a list item's mark: `- `, `* `, `• `, `1. `, `2) `
# a line's label before a list of names: `Domains:`, `Motifs:`, `Domains and motifs:`, `Answer:`
_NAME_LABEL = re.compile(r"^[^:;,\n]*\b(?:domains?|motifs?|names?|answer|output)\b[^:;,\n]*:\s*", re.IGNORECASE)
_REPEAT = re.compile(r"(?<=\S) \d+$")  # UniProt's number of a repeated domain: `SH3 1`, `SH3 2`


def has_ec(answer: str) -> bool:
    return bool(ec_numbers(answer))


def names(text: str, *, commas: bool = True) -> list[str]:
    """The names a list answer gives, each once: `;`- or line-separated, or, in a text without `;` (and
    `commas`), comma-separated too (`SH3, SH2, and Protein kinase`); a line's bullet and leading label
    (`Domains:`, `Motifs:`, `Answer:`) and each name's final period dropped.

    A name holding a comma (UniProt's domain and motif names rarely do) stays whole only where the text
    uses `;`, as every phrasing asks; the `set` scorer reads its own `; `-joined references without
    `commas`. A sentence (`It has an SH3 domain and an SH2 domain.`) is one name, which matches nothing.
    """
    separator = ";" if ";" in text or not commas else ","
    parts = []
    for line in text.splitlines():
        for part in _NAME_LABEL.sub("", _BULLET.sub("", line.strip())).split(separator):
            part = _BULLET.sub("", part.strip()).rstrip(".").strip()
            parts.append(part[4:].lstrip() if separator == "," and part.startswith("and ") else part)
    return list(dict.fromkeys(part for part in parts if part))


def name_key(name: str) -> str:
    """What two names must share to be the same: case, whitespace and UniProt's repeat number (`SH3 1`,
    `SH3 2`: both `sh3`) do not count."""
    return _REPEAT.sub("", " ".join(name.casefold().split()))


def read_names(reply: str) -> str:
    """A names answer read off a reply: markdown marks dropped; a bulleted list is its first run of bullets (a
    preamble before it and sentences after it are not names); otherwise every line, as `names` reads them."""
    lines = [ANSWER_LABEL.sub("", _ITEM_MARKS.sub("", line).strip()) for line in reply.strip().splitlines()
             if line.strip()]
    start = next((i for i, line in enumerate(lines) if _BULLET.match(line)), None)
    if start is not None:
        end = next((i for i in range(start, len(lines)) if not _BULLET.match(lines[i])), len(lines))
        lines = lines[start:end]
    return "; ".join(names("\n".join(lines)))


LETTERS = "ABCDE"  # the option letters of a multiple-choice answer
NO_ITEMS = "none"  # the answer of an extraction task with nothing to extract
_EMPHASIS = re.compile(r"[*_`]+")  # markdown bold/italic/code marks around an answer: **B**, `B`
# a letter opening the reply: "(B)", "(b)", "B", "B.", "B)", "B:", "D, because ..."; a lower-case one only alone,
# in brackets or before `.`/`)` ("b", "b.", "b)"), so that "a beta-blocker ..." is no answer
_LETTER_FIRST = re.compile(r"^(?:\(([A-Ea-e])\)|([A-E])(?=[.,):;]|\s*$|\s+(?:[-–]|is\b))|([a-e])(?=[.)]|\s*$))")
# a letter said in words: "the answer is (d)", "option B", "I would choose B.", "I'd pick (c)"
_LETTER_SAID = re.compile(r"\b(?i:answer|option|choice|choose|select|pick)\s*(?:(?i:is|would be|will be)\s*)?:?\s*"
                          r"(?:\(([A-Ea-e])\)|([A-E])\b|([a-e])(?=[.)]|\s*$))")
_YES_NO_MAYBE = re.compile(r"\b(yes|no|maybe|true|false)\b", re.IGNORECASE)
_YES_NO_SAID = re.compile(r"\banswer\s*(?:is|would be|will be)?\s*:?\s*(yes|no|maybe|true|false)\b", re.IGNORECASE)
TRUE_FALSE = {"yes": "yes", "no": "no", "maybe": "maybe", "true": "yes", "false": "no"}  # PubMedQA's answers
_ITEM_MARKS = re.compile(r"\*\*|`+")  # bold and code marks around items (a lone `*` or `_` may be in a name)
_ITEMS_LABEL = re.compile(r"^[A-Za-z][A-Za-z \-]{0,40}:\s+")  # "Chemicals: ", "Answer: ", "Chemical entities: "


def format_items(items: Iterable[Sequence[str]]) -> str:
    """An extraction answer on one line: fields joined by ` | `, items by `; ` (`none` for no items)."""
    return "; ".join(" | ".join(item) for item in items) or NO_ITEMS


def parse_items(text: str) -> frozenset[tuple[str, ...]]:
    """The items of an extraction answer, whitespace collapsed and case kept; `none` (any case, a final period
    allowed) or nothing: no items. A final sentence period leaves the last item ("...; clonidine." gives
    `clonidine`); periods inside a name stay."""
    text = " ".join(text.split())
    if text.endswith(".") and not text.endswith(".."):
        text = text[:-1]
    if text.lower() in ("", NO_ITEMS):
        return frozenset()
    return frozenset(tuple(" ".join(field.split()) for field in item.split("|")) for item in text.split(";")
                     if item.strip())


def read_items(reply: str) -> str:
    """An extraction answer read off a reply, in three simple steps:
    1. a first line ending in ":" with more lines after it is a preamble ("Here are the chemicals:") and is dropped;
    2. a list (the first line starts with a mark `- `, `* `, `• `, `1. `, `2) `) is the run of marked lines from
       there, one item per line (a final period dropped), joined by `; `; any other reply is its first line;
    3. a label before the items ("Chemicals: ", "Answer: ": words, then a colon and a space) is dropped. A colon
       without a space after it stays, so a relation's group (`CPR:5`) is never cut."""
    lines = [_ITEM_MARKS.sub("", line).strip() for line in reply.strip().splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].endswith(":"):
        lines = lines[1:]
    if not lines:
        return ""
    if _BULLET.match(lines[0]):
        run = []
        for line in lines:
            if not _BULLET.match(line):
                break
            item = _BULLET.sub("", line).strip().rstrip(";")
            run.append(item[:-1] if item.endswith(".") and not item.endswith("..") else item)  # a sentence's period
        text = "; ".join(run)
    else:
        text = _ITEMS_LABEL.sub("", lines[0], count=1)
    return " ".join(_ITEM_MARKS.sub("", text).split())


def _choice_line(reply: str) -> str:
    """The line of a closed-set reply that holds its answer, without markdown emphasis and its label: the first
    labelled one with text after its label (`Question: ...?` then `Answer: B`), else the first line with text
    (`Answer:` alone, then `B`)."""
    lines = [_EMPHASIS.sub("", line).strip() for line in reply.strip().splitlines() if line.strip()]
    labelled = [rest for line in lines if ANSWER_LABEL.match(line) and (rest := ANSWER_LABEL.sub("", line).strip())]
    plain = [rest for line in lines if (rest := ANSWER_LABEL.sub("", line).strip())]
    return (labelled or plain or [""])[0]


def read_option_letter(reply: str) -> str:
    """An option letter A–E (upper-cased) read from the answer's line: one it states ("the answer is (d)", "I would
    choose B.", "my answer would be C"), else one opening it ("B", "(b)", "**B**", "D, because ...", "B - Aspirin",
    "B is correct", a lone "b"); "" when there is none.
    Words are never read as answers: "yes" gives ""."""
    line = _choice_line(reply)
    found = _LETTER_SAID.search(line) or _LETTER_FIRST.match(line)  # a stated answer wins over an opening letter
    return next(group for group in found.groups() if group).upper() if found else ""


def read_yes_no_maybe(reply: str) -> str:
    """yes, no or maybe (true → yes, false → no) read from the answer's line: the one it states ("the answer is
    yes"), else the word opening it, else the last such word; "" when there is none. Letters are never read
    ("E. coli is not ..." gives "")."""
    line = _choice_line(reply)
    words = _YES_NO_MAYBE.findall(line)
    if not words:
        return ""
    said = _YES_NO_SAID.search(line) or _YES_NO_MAYBE.match(line)  # "the answer is yes. However, no ..." is yes
    return TRUE_FALSE[(said.group(1) if said else words[-1]).lower()]


def is_letter(answer: str) -> bool:
    return len(answer) == 1 and answer in LETTERS


def is_yes_no_maybe(answer: str) -> bool:
    return answer in ("yes", "no", "maybe")
