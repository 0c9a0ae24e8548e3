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
    return "; ".join(names(ANSWER_LABEL.sub("", reply.strip())))


LETTERS = "ABCDE"  # the option letters of a multiple-choice answer
NO_ITEMS = "none"  # the answer of an extraction task with nothing to extract
_EMPHASIS = re.compile(r"[*_`]+")  # markdown bold/italic/code marks around an answer: **B**, `B`
# a letter opening the reply: "(B)", "(b)", "B", "B.", "B)", "B:", "D, because ..."; a lower-case one only alone,
# in brackets or before `.`/`)` ("b", "b.", "b)"), so that "a beta-blocker ..." is no answer
_LETTER_FIRST = re.compile(r"^(?:\(([A-Ea-e])\)|([A-E])(?=[.,):;]|\s*$)|([a-e])(?=[.)]|\s*$))")
# a letter said in words: "the answer is (d)", "option B", "I would choose B.", "I'd pick (c)"
_LETTER_SAID = re.compile(r"\b(?i:answer|option|choice|choose|select|pick)\s*(?:is\s*)?:?\s*"
                          r"(?:\(([A-Ea-e])\)|([A-E])\b|([a-e])(?=[.)]|\s*$))")
_YES_NO_MAYBE = re.compile(r"\b(yes|no|maybe|true|false)\b", re.IGNORECASE)
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
    lines = [line.strip() for line in reply.strip().splitlines() if line.strip()]
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
    """The first line of a closed-set reply without markdown emphasis and an `Answer:`-style label."""
    lines = [line for line in reply.strip().splitlines() if line.strip()]
    return ANSWER_LABEL.sub("", _EMPHASIS.sub("", lines[0])).strip() if lines else ""


def read_option_letter(reply: str) -> str:
    """An option letter A–E (upper-cased) read from the first line: one opening it ("B", "(b)", "**B**",
    "D, because ...", a lone "b") or one it names ("the answer is (d)", "I would choose B."); "" when there is none.
    Words are never read as answers: "yes" gives ""."""
    line = _choice_line(reply)
    found = _LETTER_FIRST.match(line) or _LETTER_SAID.search(line)
    return next(group for group in found.groups() if group).upper() if found else ""


def read_yes_no_maybe(reply: str) -> str:
    """yes, no or maybe (true → yes, false → no) read from the first line: the word opening it, else the last such
    word in it; "" when there is none. Letters are never read ("E. coli is not ..." gives "")."""
    words = _YES_NO_MAYBE.findall(_choice_line(reply))
    if not words:
        return ""
    first = _YES_NO_MAYBE.match(_choice_line(reply))
    return TRUE_FALSE[(first.group(1) if first else words[-1]).lower()]


def is_letter(answer: str) -> bool:
    return len(answer) == 1 and answer in LETTERS


def is_yes_no_maybe(answer: str) -> bool:
    return answer in ("yes", "no", "maybe")
