"""Answer kinds: how a reply is read (the one answer extractor), when it is valid, how long it may be.

Every task declares the kind of its answer. The kind fixes how the answer is cut out of a model's
reply, what counts as a readable answer (a SMILES RDKit parses, a SELFIES that decodes, an InChI
RDKit reads, an amino-acid string, a number, a yes/no, an EC number, a list of names, extracted
items, an option letter), how many new tokens decoding may take, whether decoding stops at the
end of the first line, and which scorer family scores it. An invalid answer is still written and
scored (as invalid), never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import selfies
from rdkit import Chem

from molbridge.chem.parse import to_mol
from molbridge.chem.rdkit_log import divert_rdkit_messages
from molbridge.errors import InvalidMolecule
from molbridge.protein.ec import ec_numbers
from molbridge.tasks.numbers import parse_number

_LABEL = re.compile(r"^\s*(caption|molecule|smiles|selfies|inchi|answer|sequence|output)\s*:\s*", re.IGNORECASE)
_SELFIES = re.compile(r"(\[[^\[\]\s]+\])+(\.(\[[^\[\]\s]+\])+)*")  # `.` joins components
_INCHI = re.compile(r"InChI=1S?/\S+")
_AMINO = re.compile(r"[ACDEFGHIKLMNPQRSTVWYBXZUO]+")
_YES_NO = re.compile(r"\b(yes|no)\b", re.IGNORECASE)
_BULLET = re.compile(r"^(?:[-*•]|\d+[.)])\s+")  # a list item's mark: `- `, `* `, `• `, `1. `, `2) `
# a line's label before a list of names: `Domains:`, `Motifs:`, `Domains and motifs:`, `Answer:`
_NAME_LABEL = re.compile(r"^[^:;,\n]*\b(?:domains?|motifs?|names?|answer|output)\b[^:;,\n]*:\s*", re.IGNORECASE)
_REPEAT = re.compile(r"(?<=\S) \d+$")  # UniProt's number of a repeated domain: `SH3 1`, `SH3 2`


@dataclass(frozen=True)
class AnswerKind:
    """What an answer is; `family` names the scorer family (`molbridge.eval.scorers`) that scores it."""

    name: str
    extract: Callable[[str], str]  # reply → answer text ("" when there is none)
    valid: Callable[[str], bool]  # answer → readable by the scorer
    max_new_tokens: int  # decoding budget: a sentence, a long SMILES, a protein
    one_line: bool  # decoding stops at the first newline (molecules, numbers)
    family: str
    as_smiles: Callable[[str], str | None] | None = None  # molecule answers: the SMILES molecule metrics read


def extract_yes_no(text: str) -> str | None:
    """SEPIT's closed-set rule: the LAST whole-word "yes" or "no" (any case), lower-cased.

    The last one wins because models often restate the question ("Is it toxic, yes or no? ...
    No.") before answering; None when neither word occurs ("not", "yesterday" do not count).
    """
    found = _YES_NO.findall(text)
    return found[-1].lower() if found else None


def _first_line(reply: str) -> str:
    lines = [line for line in reply.strip().splitlines() if line.strip()]
    return _LABEL.sub("", lines[0]).strip() if lines else ""


def _first_token(reply: str) -> str:
    """A molecule string: the first token of the first line, without quotes, code marks or sentence punctuation."""
    words = _first_line(reply).split()
    return words[0].strip("`'\"").rstrip(".,;").strip("`'\"") if words else ""


def _text(reply: str) -> str:
    return " ".join(_LABEL.sub("", reply.strip()).split())


def _selfies(reply: str) -> str:
    found = _SELFIES.search(_first_line(reply))
    return found.group(0) if found else ""


def _inchi(reply: str) -> str:
    found = _INCHI.search(_first_line(reply))
    return found.group(0).rstrip(".,;") if found else ""


def _protein(reply: str) -> str:
    token = _first_token(reply)
    found = _AMINO.fullmatch(token.upper())
    return found.group(0) if found else token


def _smiles_valid(answer: str) -> bool:
    with divert_rdkit_messages():  # invalid model answers are expected; they are counted where scored
        try:
            to_mol(answer)
            return bool(answer)
        except InvalidMolecule:
            return False


def selfies_to_smiles(text: str) -> str | None:
    """A SELFIES answer as canonical SMILES (None: it does not decode to a molecule)."""
    try:
        decoded = selfies.decoder(text)
    except (selfies.DecoderError, KeyError, IndexError, ValueError):
        return None
    with divert_rdkit_messages():
        mol = Chem.MolFromSmiles(decoded) if decoded else None
    return Chem.MolToSmiles(mol) if mol is not None and mol.GetNumAtoms() else None


def inchi_to_smiles(text: str) -> str | None:
    """An InChI answer as canonical SMILES (None: RDKit cannot read it)."""
    with divert_rdkit_messages():
        mol = Chem.MolFromInchi(text, treatWarningAsError=False, logLevel=None) if text else None
    return Chem.MolToSmiles(mol) if mol is not None and mol.GetNumAtoms() else None


def _same(smiles: str) -> str:
    return smiles


def _selfies_valid(answer: str) -> bool:
    return selfies_to_smiles(answer) is not None


def _inchi_valid(answer: str) -> bool:
    return inchi_to_smiles(answer) is not None


def _protein_valid(answer: str) -> bool:
    return _AMINO.fullmatch(answer) is not None


def _number_valid(answer: str) -> bool:
    return parse_number(answer) is not None


def _yes_no(reply: str) -> str:
    return extract_yes_no(reply) or ""


def _has_ec(answer: str) -> bool:
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


def _names(reply: str) -> str:
    return "; ".join(names(_LABEL.sub("", reply.strip())))


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


def _items(reply: str) -> str:
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
    return _LABEL.sub("", _EMPHASIS.sub("", lines[0])).strip() if lines else ""


def _option_letter(reply: str) -> str:
    """An option letter A–E (upper-cased) read from the first line: one opening it ("B", "(b)", "**B**",
    "D, because ...", a lone "b") or one it names ("the answer is (d)", "I would choose B."); "" when there is none.
    Words are never read as answers: "yes" gives ""."""
    line = _choice_line(reply)
    found = _LETTER_FIRST.match(line) or _LETTER_SAID.search(line)
    return next(group for group in found.groups() if group).upper() if found else ""


def _yes_no_maybe(reply: str) -> str:
    """yes, no or maybe (true → yes, false → no) read from the first line: the word opening it, else the last such
    word in it; "" when there is none. Letters are never read ("E. coli is not ..." gives "")."""
    words = _YES_NO_MAYBE.findall(_choice_line(reply))
    if not words:
        return ""
    first = _YES_NO_MAYBE.match(_choice_line(reply))
    return TRUE_FALSE[(first.group(1) if first else words[-1]).lower()]


def _is_letter(answer: str) -> bool:
    return len(answer) == 1 and answer in LETTERS


def _is_yes_no_maybe(answer: str) -> bool:
    return answer in ("yes", "no", "maybe")


# Module-level functions only (no lambdas): a task and its answer kind stay picklable (e.g. for a Dask worker).
TEXT = AnswerKind("text", _text, bool, 96, one_line=False, family="text")
SMILES = AnswerKind("smiles", _first_token, _smiles_valid, 128, one_line=True, family="molecule", as_smiles=_same)
SELFIES = AnswerKind("selfies", _selfies, _selfies_valid, 192, one_line=True, family="molecule",
                     as_smiles=selfies_to_smiles)
INCHI = AnswerKind("inchi", _inchi, _inchi_valid, 128, one_line=True, family="molecule", as_smiles=inchi_to_smiles)
PROTEIN = AnswerKind("protein", _protein, _protein_valid, 256, one_line=True, family="sequence")
NUMBER = AnswerKind("number", str.strip, _number_valid, 32, one_line=True, family="number")
YES_NO = AnswerKind("yes_no", _yes_no, bool, 8, one_line=True, family="classification")
# EC numbers first, then the reactions (which may be long): a cut-off answer still names its ECs
EC = AnswerKind("ec", _text, _has_ec, 256, one_line=False, family="ec")
NAMES = AnswerKind("names", _names, bool, 96, one_line=False, family="set")
# lists over several lines must survive decoding (`_items` reads them), so no stop at the first newline
ITEMS = AnswerKind("items", _items, bool, 256, one_line=False, family="extraction")
# closed sets, scored by the `choice` family (the task's Scorer.labels: LETTERS, or yes/no/maybe)
OPTION_LETTER = AnswerKind("option_letter", _option_letter, _is_letter, 16, one_line=True, family="choice")
YES_NO_MAYBE = AnswerKind("yes_no_maybe", _yes_no_maybe, _is_yes_no_maybe, 16, one_line=True, family="choice")

ANSWER_KINDS = {kind.name: kind for kind in (TEXT, SMILES, SELFIES, INCHI, PROTEIN, NUMBER, YES_NO, EC, NAMES,
                                                  ITEMS, OPTION_LETTER, YES_NO_MAYBE)}


def answer_kind(name: str) -> AnswerKind:
    """The answer kind called `name` (KeyError names the known kinds)."""
    try:
        return ANSWER_KINDS[name]
    except KeyError:
        raise KeyError(f"unknown answer kind {name!r}; known: {', '.join(ANSWER_KINDS)}") from None
