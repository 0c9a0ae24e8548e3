"""String <-> molecule conversions that raise :class:`InvalidMolecule` with RDKit's reason.

RDKit signals failure by returning ``None`` (or an empty string for InChI) and writing the
reason to its log. Every function here turns that into a typed error carrying the input
and the reason, so no caller ever has to test for ``None``.

Reasons have the shape ``"<Kind>: <detail>"`` (e.g. ``"AtomValenceException: ..."``,
``"SMILES Parse Error: ..."``, ``"EncoderError: ..."``) so batches can count them by kind.
"""

from __future__ import annotations

import re

import selfies
from rdkit import Chem
from rdkit.Chem import rdMolDescriptors

from molbridge.chem.rdkit_log import capture_rdkit_messages
from molbridge.errors import InvalidMolecule

_INCHIKEY = re.compile(r"[A-Z]{14}-[A-Z]{10}-[A-Z]")
_POSITION = re.compile(r"check for mistakes around position \d+")
_PARSE_ERROR = "SMILES Parse Error"


def unescape_chebi(smiles: str) -> str:
    r"""Collapse ChEBI-20's doubled backslashes (``\\`` stored where SMILES means ``\``).

    RDKit happens to tolerate the doubled form, but SELFIES and exact string comparison
    do not; a SMILES never legitimately contains two consecutive bond symbols ``\\``.
    """
    return smiles.replace("\\\\", "\\")


def _parse_reason(messages: list[str]) -> str:
    """RDKit's first parse message plus its position hint (the echoed input and caret add nothing)."""
    if not messages:
        return f"{_PARSE_ERROR}: RDKit rejected the string (no log message captured)"
    reason = messages[0] if messages[0].startswith(_PARSE_ERROR) else f"{_PARSE_ERROR}: {messages[0]}"
    for message in messages[1:]:
        hint = _POSITION.search(message)
        if hint:
            return f"{reason}; {hint.group(0)}"
    return reason


def to_mol(smiles: str, *, unescape: bool = True) -> Chem.Mol:
    """Parse SMILES into a sanitised molecule identical to ``Chem.MolFromSmiles``; never returns None.

    Valid strings (the common case) cost one plain ``Chem.MolFromSmiles``. Only a failure is
    diagnosed: an unsanitised parse separates syntax errors (RDKit's parse message) from
    chemistry errors (the first problem of ``Chem.DetectChemistryProblems``, e.g. a valence or
    kekulisation failure), so the reason names what is wrong.
    """
    if not isinstance(smiles, str):
        raise InvalidMolecule(repr(smiles), f"TypeError: expected str, got {type(smiles).__name__}")
    text = unescape_chebi(smiles.strip()) if unescape else smiles.strip()
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:  # RDKit's C++ layer would raise this mid-call
        raise InvalidMolecule(smiles, f"UnicodeEncodeError: {err.reason} at position {err.start}") from None
    with capture_rdkit_messages() as messages:
        try:
            mol = Chem.MolFromSmiles(text)
        except SystemError:
            # RDKit's Python-log bridge fails to decode its own syntax-error excerpt when that
            # excerpt cuts a non-ASCII character in half; the excerpt exists only because the
            # parse failed, and the complete first message has already been captured.
            mol = None
        if mol is not None and mol.GetNumAtoms() > 0:
            return mol
        raise InvalidMolecule(smiles, _diagnose(text, mol, messages))


def to_mol_or_none(smiles: str) -> Chem.Mol | None:
    """`to_mol`, with None for text that is not a molecule (where the reason is not needed)."""
    try:
        return to_mol(smiles)
    except InvalidMolecule:
        return None


def _diagnose(text: str, mol: Chem.Mol | None, messages: list[str]) -> str:
    """Why `text` did not give a molecule: empty, RDKit's parse message, or the first chemistry problem."""
    if mol is not None:  # RDKit parses "" into an empty molecule, not None
        return "Empty: no atoms (empty or whitespace-only SMILES)"
    try:
        draft = Chem.MolFromSmiles(text, sanitize=False)
    except SystemError:  # see to_mol
        draft = None
    if draft is None:
        return _parse_reason(messages)
    if draft.GetNumAtoms() == 0:
        return "Empty: no atoms (empty or whitespace-only SMILES)"
    problems = Chem.DetectChemistryProblems(draft)
    if problems:
        return f"{problems[0].GetType()}: {problems[0].Message()}"
    # a failure DetectChemistryProblems does not model (e.g. during H removal)
    detail = messages[-1] if messages else "RDKit rejected the molecule during sanitisation"
    return f"SanitizationError: {detail}"


_PROBLEM_KINDS = {"AtomValenceException": "valence", "AtomKekulizeException": "kekulize",
                  "KekulizeException": "kekulize"}


def failure_kind(smiles: str) -> str:
    """Why `Chem.MolFromSmiles(smiles)` rejects a string, as a countable kind.

    'empty', 'syntax' (RDKit cannot read it), or the first chemistry problem RDKit detects
    ('valence', 'kekulize', or another problem type, lower-cased). Derived from RDKit's structures,
    not its log, so it holds whatever the application did to RDKit's logging.
    """
    if not smiles.strip():
        return "empty"
    try:
        draft = Chem.MolFromSmiles(smiles, sanitize=False)
    except Exception:
        return "syntax"
    if draft is None:
        return "syntax"
    problems = Chem.DetectChemistryProblems(draft)
    if not problems:
        return "other"
    kind = problems[0].GetType()
    return _PROBLEM_KINDS.get(kind, kind.removesuffix("Exception").lower())


def canonical_smiles(smiles: str, *, isomeric: bool = True) -> str:
    """RDKit canonical SMILES, the form exact-match and validity metrics compare."""
    return Chem.MolToSmiles(to_mol(smiles), isomericSmiles=isomeric)


def mol_to_selfies(mol: Chem.Mol) -> str:
    """SELFIES of a parsed molecule, from its canonical Kekulé SMILES.

    Canonicalising first makes the SELFIES a function of the molecule, not of how its
    SMILES was written; handing SELFIES an explicit Kekulé form spares it from
    kekulising aromatic rings itself, which its own algorithm does less reliably.
    """
    canonical = Chem.MolToSmiles(mol)
    return kekule_selfies(read_back(canonical), canonical)


def read_back(canonical: str) -> Chem.Mol:
    """The molecule of RDKit's own canonical SMILES (raises InvalidMolecule on the rare one it cannot re-read)."""
    mol = Chem.MolFromSmiles(canonical)
    if mol is None:  # rare RDKit canonicalisation bugs; reported rather than crashing in Kekulize
        raise InvalidMolecule(canonical, "SanitizationError: RDKit cannot re-read its own canonical SMILES")
    return mol


def kekule_selfies(kekule: Chem.Mol, canonical: str) -> str:
    """SELFIES of `kekule`, the molecule read back from `canonical` (see `mol_to_selfies`); kekulises it in place.

    Why apart: a caller that keeps the read-back molecule (a build judges molecules as its
    readers will parse them) passes a copy instead of parsing the canonical SMILES twice."""
    try:
        Chem.Kekulize(kekule, clearAromaticFlags=True)
    except Chem.KekulizeException as err:
        raise InvalidMolecule(canonical, f"KekulizeException: {err}") from None
    try:
        return selfies.encoder(Chem.MolToSmiles(kekule, kekuleSmiles=True))
    except selfies.EncoderError as err:
        raise InvalidMolecule(canonical, f"EncoderError: {_one_line(err)}") from None
    except (KeyError, IndexError, ValueError) as err:  # selfies' own kekulisation crashes on e.g. "B:F"
        raise InvalidMolecule(canonical, f"EncoderError: selfies failed ({type(err).__name__}: {err})") from None


def to_selfies(smiles: str) -> str:
    """SELFIES of a SMILES string (ChEBI escapes collapsed); fails for SMILES that SELFIES' default
    semantic constraints reject, e.g. hypervalent iodine, or wildcard atoms ``*``."""
    mol = to_mol(smiles)
    try:
        return mol_to_selfies(mol)
    except InvalidMolecule as err:
        raise InvalidMolecule(smiles, err.reason) from None


def from_selfies(selfies_str: str) -> str:
    """Decode SELFIES to canonical SMILES; invalid symbols and empty decodings raise."""
    if not isinstance(selfies_str, str):
        raise InvalidMolecule(repr(selfies_str), f"TypeError: expected str, got {type(selfies_str).__name__}")
    try:
        decoded = selfies.decoder(selfies_str)
    except selfies.DecoderError as err:
        raise InvalidMolecule(selfies_str, f"DecoderError: {_one_line(err)}") from None
    if not decoded:
        raise InvalidMolecule(selfies_str, "Empty: SELFIES decodes to no atoms")
    try:
        return canonical_smiles(decoded)
    except InvalidMolecule as err:
        raise InvalidMolecule(selfies_str, f"{err.reason} (decoded SMILES {decoded!r})") from None


def _one_line(err: Exception) -> str:
    """selfies puts the offending input on extra indented lines; the first line is the reason."""
    return str(err).splitlines()[0].strip()


def _inchi_failure(mol: Chem.Mol, what: str, messages: list[str]) -> InvalidMolecule:
    detail = messages[0].removeprefix("ERROR: ") if messages else f"RDKit returned an empty {what}"
    return InvalidMolecule(Chem.MolToSmiles(mol), f"InChIError: {detail}")


def to_inchi(mol: Chem.Mol) -> str:
    """Standard InChI; RDKit's empty-string failure (e.g. for ``*`` atoms) becomes an error."""
    with capture_rdkit_messages() as messages:
        inchi = Chem.MolToInchi(mol)
    if not inchi:
        raise _inchi_failure(mol, "InChI", messages)
    return inchi


def from_inchi(inchi: str) -> Chem.Mol:
    """The molecule of an InChI; one RDKit cannot read raises InvalidMolecule with its messages as the reason."""
    with capture_rdkit_messages() as messages:
        mol = Chem.MolFromInchi(inchi)
    if mol is None or mol.GetNumAtoms() == 0:
        details = [m.removeprefix("ERROR:").strip() for m in messages]
        raise InvalidMolecule(inchi, "InChIError: " + ("; ".join(d for d in details if d) or "RDKit could not read it"))
    return mol


def to_inchikey(mol: Chem.Mol, inchi: str | None = None) -> str:
    """Standard InChIKey, hashed from :func:`to_inchi` so a failure reports the InChI reason.

    Pass the molecule's `inchi` when it is already known: hashing it is ~50x cheaper than
    computing the InChI again.
    """
    inchi = inchi or to_inchi(mol)
    with capture_rdkit_messages() as messages:
        key = Chem.InchiToInchiKey(inchi)
    if not key:
        raise _inchi_failure(mol, "InChIKey", messages)
    return key


def connectivity_block(inchikey: str) -> str:
    """First 14 characters of an InChIKey: the skeleton, ignoring stereo, isotopes and charge.

    Raises :class:`InvalidMolecule` (a ``ValueError``) unless ``inchikey`` has the
    standard ``14-10-1`` upper-case shape, so a SMILES or InChI passed by mistake is caught.
    """
    if not isinstance(inchikey, str) or not _INCHIKEY.fullmatch(inchikey):
        reason = "InChIKeyError: expected 14-10-1 upper-case letters, e.g. 'BSYNRYMUTXBXSQ-UHFFFAOYSA-N'"
        raise InvalidMolecule(str(inchikey), reason)
    return inchikey[:14]


def formula(mol: Chem.Mol) -> str:
    """Hill-order molecular formula, including charge (e.g. ``C9H8O4``)."""
    return rdMolDescriptors.CalcMolFormula(mol)
