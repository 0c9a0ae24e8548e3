"""Batch conversions that record a bad item and carry on, keeping results aligned with the input.

Model outputs are often not valid molecules; one bad string must cost one ``None``, not
the whole evaluation. Only :class:`InvalidMolecule` is absorbed: any other exception is a
bug and propagates.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from rdkit import Chem

from molbridge.chem.descriptors import Descriptors, descriptors
from molbridge.chem.parse import mol_to_selfies, to_mol
from molbridge.errors import InvalidMolecule

logger = logging.getLogger(__name__)

T = TypeVar("T")


def _reason_kind(reason: str) -> str:
    """``"AtomValenceException: Explicit valence..."`` -> ``"AtomValenceException"``."""
    return reason.split(":", 1)[0].strip()


@dataclass(frozen=True)
class BatchResult(Generic[T]):
    """Per-item outcomes aligned with the input: exactly one of ``values[i]``/``errors[i]`` is set."""

    values: list[T | None]
    errors: list[InvalidMolecule | None]

    def __post_init__(self) -> None:
        if len(self.values) != len(self.errors):
            raise ValueError(f"{len(self.values)} values but {len(self.errors)} errors")

    @property
    def n_ok(self) -> int:
        return sum(error is None for error in self.errors)

    @property
    def n_failed(self) -> int:
        return len(self.errors) - self.n_ok

    def error_counts(self) -> dict[str, int]:
        """Failures per reason kind (the part of the reason before the first colon), most common first."""
        kinds = Counter(_reason_kind(error.reason) for error in self.errors if error is not None)
        return dict(kinds.most_common())


def map_molecules(
    fn: Callable[[Chem.Mol], T], smiles: Iterable[str], *, unescape: bool = True
) -> BatchResult[T]:
    """Parse each SMILES with :func:`to_mol` and apply ``fn``; failures become aligned errors.

    An :class:`InvalidMolecule` raised by ``fn`` is re-labelled with the original input
    string, so every error names the item the caller passed in.
    """
    values: list[T | None] = []
    errors: list[InvalidMolecule | None] = []
    for text in smiles:
        try:
            mol = to_mol(text, unescape=unescape)
            try:
                value = fn(mol)
            except InvalidMolecule as err:
                raise InvalidMolecule(text, err.reason) from None
        except InvalidMolecule as err:
            values.append(None)
            errors.append(err)
        else:
            values.append(value)
            errors.append(None)
    result = BatchResult(values, errors)
    if result.n_failed:
        logger.info("%d of %d molecules failed: %s", result.n_failed, len(errors), result.error_counts())
    return result


def parse_many(smiles: Iterable[str], *, unescape: bool = True) -> BatchResult[Chem.Mol]:
    """Sanitised molecules, ``None`` where the SMILES is invalid."""
    return map_molecules(lambda mol: mol, smiles, unescape=unescape)


def canonical_many(
    smiles: Iterable[str], *, isomeric: bool = True, unescape: bool = True
) -> BatchResult[str]:
    """Canonical SMILES as :func:`~molbridge.chem.parse.canonical_smiles` would give them."""
    return map_molecules(lambda mol: Chem.MolToSmiles(mol, isomericSmiles=isomeric), smiles, unescape=unescape)


def selfies_many(smiles: Iterable[str], *, unescape: bool = True) -> BatchResult[str]:
    """SELFIES as :func:`~molbridge.chem.parse.to_selfies` would give them."""
    return map_molecules(mol_to_selfies, smiles, unescape=unescape)


def descriptors_many(smiles: Iterable[str], *, unescape: bool = True) -> BatchResult[Descriptors]:
    """Descriptor profiles, ``None`` where the SMILES is invalid."""
    return map_molecules(descriptors, smiles, unescape=unescape)
