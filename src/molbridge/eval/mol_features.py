"""What molecule scoring needs of one SMILES string, computed once however many pairs it is in.

A molecule's parse, canonical SMILES, failure kind, InChI and fingerprints (MACCS, RDK path bits,
Morgan counts) do not depend on the pair it is in: the reference scripts recompute them per pair and
per script; scoring computes them once per distinct string, and the InChI and fingerprints only for
strings that meet a valid partner. Fingerprints are kept as arrays (packed bits; sorted Morgan keys
and counts) so that every pair's similarity is one vectorised step (`eval.tanimoto`) and so that a
reference's features can be stored without pickling (`eval.feature_cache`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from rdkit import Chem

from molbridge.chem import fingerprints as fp
from molbridge.chem.parse import failure_kind


@dataclass(frozen=True)
class Fingerprints:
    """The exact-match key and the three fingerprints of a valid molecule, as arrays."""

    inchi: str
    maccs: np.ndarray  # packed bits, uint8
    rdk: np.ndarray  # packed bits, uint8
    morgan_keys: np.ndarray  # uint64, ascending
    morgan_counts: np.ndarray  # uint32, aligned with morgan_keys


@dataclass(frozen=True)
class Molecule:
    """One parsed string: valid or not (and why not), its canonical SMILES, and its fingerprints once needed."""

    valid: bool
    canonical: str | None = None  # RDKit canonical SMILES ("" for the empty molecule), once needed (FCD)
    failure: str | None = None  # `chem.parse.failure_kind` of an invalid string
    fingerprints: Fingerprints | None = None


def parse(smiles: str) -> Chem.Mol | None:
    """RDKit's plain parse, as the reference scripts do; any exception means invalid.

    (With RDKit's log routed to Python, some non-ASCII garbage makes RDKit raise SystemError
    instead of returning None; the reference scripts also count exceptions as bad molecules.)
    """
    try:
        return Chem.MolFromSmiles(smiles)
    except Exception:
        return None


def describe(smiles: str, mol: Chem.Mol | None, canonical: bool) -> Molecule:
    """The parse-level facts of `smiles` whose parse gave `mol` (with its canonical SMILES if asked)."""
    if mol is None:
        return Molecule(valid=False, failure=failure_kind(smiles))
    return Molecule(valid=True, canonical=Chem.MolToSmiles(mol) if canonical else None)


def combined(old: Molecule | None, new: Molecule) -> Molecule:
    """`new`, keeping what `old` (the same string's molecule, computed elsewhere) has and `new` lacks."""
    if old is None:
        return new
    return replace(new, canonical=old.canonical if new.canonical is None else new.canonical,
                   fingerprints=new.fingerprints or old.fingerprints)


def fingerprints(mol: Chem.Mol, morgan_radius: int) -> Fingerprints:
    """InChI and the MolT5 fingerprints of `mol` (the `chem.fingerprints` calls, bit for bit)."""
    counts = sorted(fp.morgan_counts(mol, morgan_radius).GetNonzeroElements().items())
    return Fingerprints(
        inchi=Chem.MolToInchi(mol),
        maccs=_packed(fp.maccs(mol)),
        rdk=_packed(fp.rdk(mol)),
        morgan_keys=np.array([k for k, _ in counts], dtype=np.uint64),
        morgan_counts=np.array([c for _, c in counts], dtype=np.uint32),
    )


def _packed(bits: fp.BitVect) -> np.ndarray:
    """An RDKit bit vector as packed bytes (bit i of the vector is bit 7 - i % 8 of byte i // 8)."""
    return np.packbits(np.frombuffer(bits.ToBitString().encode("ascii"), dtype=np.uint8) - ord("0"))
