"""The answer inside a generated reply, by answer kind, and whether it is a valid one.

Validity is what a scorer would accept: a SMILES RDKit parses, a SELFIES that decodes to one, an
InChI RDKit reads, an amino-acid string, a number, a yes/no. An invalid answer is still written
and scored (as invalid), never dropped; `predict` may re-sample molecules that come out invalid.
"""

from __future__ import annotations

import re

import selfies
from rdkit import Chem

from molbridge.chem.parse import to_mol
from molbridge.chem.rdkit_log import divert_rdkit_messages
from molbridge.errors import InvalidMolecule
from molbridge.eval.classification import extract_yes_no
from molbridge.eval.numeric import parse_number

MOLECULE_KINDS = ("smiles", "selfies", "inchi")
_LABEL = re.compile(r"^\s*(caption|molecule|smiles|selfies|inchi|answer|sequence|output)\s*:\s*", re.IGNORECASE)
_SELFIES = re.compile(r"(\[[^\[\]\s]+\])+")
_INCHI = re.compile(r"InChI=1S?/\S+")
_AMINO = re.compile(r"[ACDEFGHIKLMNPQRSTVWYBXZUO]+")


def _first_line(reply: str) -> str:
    lines = [line for line in reply.strip().splitlines() if line.strip()]
    return _LABEL.sub("", lines[0]).strip() if lines else ""


def extract(kind: str, reply: str) -> str:
    """The answer text of `reply` for an answer of `kind` ("" when there is none)."""
    if kind == "text":
        return " ".join(reply.split())
    if kind == "number":
        return reply.strip()
    if kind == "yes_no":
        return extract_yes_no(reply) or ""
    line = _first_line(reply)
    if kind == "selfies":
        found = _SELFIES.search(line)
        return found.group(0) if found else ""
    if kind == "inchi":
        found = _INCHI.search(line)
        return found.group(0).rstrip(".,;") if found else ""
    token = line.split()[0] if line.split() else ""
    token = token.strip("`'\"").rstrip(".,;").strip("`'\"")
    if kind == "protein":
        found = _AMINO.fullmatch(token.upper())
        return found.group(0) if found else token
    return token  # smiles


def is_valid(kind: str, answer: str) -> bool:
    """Whether a scorer can read `answer` as an answer of `kind` (RDKit's messages about it are
    diverted: invalid model answers are expected, and counted where they are scored)."""
    with divert_rdkit_messages():
        return _readable(kind, answer)


def _readable(kind: str, answer: str) -> bool:
    if not answer:
        return False
    if kind == "smiles":
        try:
            to_mol(answer)
            return True
        except InvalidMolecule:
            return False
    if kind == "selfies":
        return as_smiles("selfies", answer) is not None
    if kind == "inchi":
        return as_smiles("inchi", answer) is not None
    if kind == "protein":
        return _AMINO.fullmatch(answer) is not None
    if kind == "number":
        return parse_number(answer) is not None
    return True


def as_smiles(kind: str, text: str) -> str | None:
    """A SELFIES or InChI answer as canonical SMILES, so molecule metrics can score it (None: unreadable)."""
    with divert_rdkit_messages():
        return _converted(kind, text)


def _converted(kind: str, text: str) -> str | None:
    if kind == "selfies":
        try:
            decoded = selfies.decoder(text)
        except (selfies.DecoderError, KeyError, IndexError, ValueError):
            return None
        mol = Chem.MolFromSmiles(decoded) if decoded else None
    else:
        mol = Chem.MolFromInchi(text, treatWarningAsError=False, logLevel=None)
    return Chem.MolToSmiles(mol) if mol is not None and mol.GetNumAtoms() else None
