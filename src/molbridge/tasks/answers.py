"""Answer kinds: how a reply is read (the one answer extractor), when it is valid, how long it may be.

Every task declares the kind of its answer. The kind fixes how the answer is cut out of a model's
reply, what counts as a readable answer (a SMILES RDKit parses, a SELFIES that decodes, an InChI
RDKit reads, an amino-acid string, a number, a yes/no, an EC number, a list of names, extracted
items, an option letter), how many new tokens decoding may take, whether decoding stops at the
end of the first line, and which scorer family scores it (list and choice answers are read by
`list_answers`). An invalid answer is still written and scored (as invalid), never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import selfies
from rdkit import Chem

from molbridge.chem.parse import to_mol
from molbridge.chem.rdkit_log import divert_rdkit_messages
from molbridge.errors import InvalidMolecule
from molbridge.tasks.list_answers import (
    ANSWER_LABEL,
    has_ec,
    is_letter,
    is_yes_no_maybe,
    read_items,
    read_names,
    read_option_letter,
    read_yes_no_maybe,
)
from molbridge.tasks.numbers import parse_number

_SELFIES = re.compile(r"(\[[^\[\]\s]+\])+(\.(\[[^\[\]\s]+\])+)*")  # `.` joins components
_INCHI = re.compile(r"InChI=1S?/\S+")
_AMINO = re.compile(r"[ACDEFGHIKLMNPQRSTVWYBXZUO]+")
_YES_NO = re.compile(r"\b(yes|no)\b", re.IGNORECASE)


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
    return ANSWER_LABEL.sub("", lines[0]).strip() if lines else ""


def _first_token(reply: str) -> str:
    """A molecule string: the first token of the first line, without quotes, code marks or sentence punctuation."""
    words = _first_line(reply).split()
    return words[0].strip("`'\"").rstrip(".,;").strip("`'\"") if words else ""


def _text(reply: str) -> str:
    return " ".join(ANSWER_LABEL.sub("", reply.strip()).split())


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
EC = AnswerKind("ec", _text, has_ec, 256, one_line=False, family="ec")
NAMES = AnswerKind("names", read_names, bool, 96, one_line=False, family="set")
# lists over several lines must survive decoding (`_items` reads them), so no stop at the first newline
ITEMS = AnswerKind("items", read_items, bool, 256, one_line=False, family="extraction")
# closed sets, scored by the `choice` family (the task's Scorer.labels: LETTERS, or yes/no/maybe)
OPTION_LETTER = AnswerKind("option_letter", read_option_letter, is_letter, 16, one_line=True, family="choice")
YES_NO_MAYBE = AnswerKind("yes_no_maybe", read_yes_no_maybe, is_yes_no_maybe, 16, one_line=True, family="choice")

ANSWER_KINDS = {kind.name: kind for kind in (TEXT, SMILES, SELFIES, INCHI, PROTEIN, NUMBER, YES_NO, EC, NAMES,
                                                  ITEMS, OPTION_LETTER, YES_NO_MAYBE)}


def answer_kind(name: str) -> AnswerKind:
    """The answer kind called `name` (KeyError names the known kinds)."""
    try:
        return ANSWER_KINDS[name]
    except KeyError:
        raise KeyError(f"unknown answer kind {name!r}; known: {', '.join(ANSWER_KINDS)}") from None
