"""Reaction SMILES (and MDL RXN blocks) read into canonical reactants, reagents and products.

Patent reaction files (USPTO-50k, USPTO-MIT, Lowe's USPTO) write `reactants>agents>products`,
atom-mapped, sometimes with a CXSMILES `|f:…|` extension that says which dot-separated fragments
are one component (`[Na+].[Cl-]` is one salt). A `Reaction` holds each role as sorted canonical
SMILES without atom maps, components kept whole, so prompts never show atom maps and the same
reaction always reads the same. Reading is strict: a fragment RDKit cannot parse, an empty role,
or a product that the reactants cannot supply raises `ReactionError` with the reason.

"Unbalanced" means the product cannot come from what is given: with atom maps, a product atom
whose map number no reactant carries; without maps, a product holding a heavy element that no
reactant or reagent holds. Counts are not compared (patent reactions omit by-products, and a reactant
used twice, as in a diester from a diol and two acyl chlorides, is written once).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rdkit import Chem
from rdkit.Chem import rdChemReactions

from molbridge.chem.rdkit_log import divert_rdkit_messages
from molbridge.errors import MolbridgeError

ROLES = ("reactants", "reagents", "products")
_FRAGMENT_GROUPS = re.compile(r"(?:^|,)f:([\d.,]+)")


class ReactionError(MolbridgeError, ValueError):
    """A reaction that cannot be used: `kind` is `unparsable` or `unbalanced`, `reason` says why."""

    def __init__(self, kind: str, reason: str) -> None:
        self.kind, self.reason = kind, reason
        super().__init__(f"{kind} reaction: {reason}")


@dataclass(frozen=True)
class Reaction:
    """Canonical SMILES of each role's components, sorted; reagents may be empty."""

    reactants: tuple[str, ...]
    reagents: tuple[str, ...]
    products: tuple[str, ...]
    main_product: str  # the product with the most heavy atoms (ties: the first in canonical order)

    @property
    def smiles(self) -> str:
        """The canonical reaction SMILES (`reactants>reagents>products`): the reaction's identity."""
        return ">".join(".".join(role) for role in (self.reactants, self.reagents, self.products))



def _fragment_groups(extension: str, count: int) -> list[list[int]]:
    """The CXSMILES `f:` groups (fragment indices over the whole reaction); every other fragment alone."""
    grouped: list[list[int]] = []
    for spec in _FRAGMENT_GROUPS.findall(extension.strip().strip("|")):
        for group in spec.split(","):
            indices = [int(i) for i in group.split(".") if i]
            if indices and max(indices) < count:
                grouped.append(indices)
    taken = {i for group in grouped for i in group}
    return grouped + [[i] for i in range(count) if i not in taken]


def _parse_fragment(text: str, role: str, position: int) -> Chem.Mol:
    with divert_rdkit_messages():
        mol = Chem.MolFromSmiles(text)
    if mol is None or mol.GetNumAtoms() == 0:
        raise ReactionError("unparsable", f"{role[:-1]} {position + 1} {text!r} is not a valid SMILES")
    return mol


def parse_reaction(text: str, *, unmapped_reactants_as_reagents: bool = False) -> Reaction:
    """Read `reactants>agents>products[ |cxsmiles|]` (a USPTO line's extra fields after a space are ignored).

    `unmapped_reactants_as_reagents`: in an atom-mapped reaction, a reactant none of whose atoms
    reach the product (a solvent or catalyst listed as a reactant) is a reagent.
    """
    body, _, extension = text.strip().partition(" ")
    parts = body.split(">")
    if len(parts) != 3:
        raise ReactionError("unparsable", f"expected reactants>agents>products, found {len(parts) - 1} '>'")
    fragments = [[f for f in part.split(".") if f] for part in parts]
    flat = [(role, i, f) for role, frags in zip(ROLES, fragments) for i, f in enumerate(frags)]
    mols = [_parse_fragment(f, role, i) for role, i, f in flat]
    components: dict[str, list[Chem.Mol]] = {role: [] for role in ROLES}
    for group in _fragment_groups(extension, len(flat)):
        roles = {flat[i][0] for i in group}
        if len(roles) != 1:
            raise ReactionError("unparsable", f"fragment group {group} spans {', '.join(sorted(roles))}")
        joined = mols[group[0]]
        for i in group[1:]:
            joined = Chem.CombineMols(joined, mols[i])
        components[roles.pop()].append(joined)
    if not components["reactants"] or not components["products"]:
        raise ReactionError("unparsable", "no reactants" if not components["reactants"] else "no products")
    if unmapped_reactants_as_reagents:
        _move_unmapped(components)
    _check_balance(components)
    written = {role: sorted((_canonical(m), m.GetNumHeavyAtoms()) for m in components[role]) for role in ROLES}
    reactants, reagents, products = (tuple(smiles for smiles, _ in written[role]) for role in ROLES)
    main = max(written["products"], key=lambda product: product[1])[0]  # max keeps the first of equals
    return Reaction(reactants, reagents, products, main)


def _map_numbers(mol: Chem.Mol) -> set[int]:
    return {a.GetAtomMapNum() for a in mol.GetAtoms() if a.GetAtomMapNum()}


def _move_unmapped(components: dict[str, list[Chem.Mol]]) -> None:
    reached = set().union(*(_map_numbers(m) for m in components["products"]))
    if not reached:
        return  # not atom-mapped: nothing tells a reagent from a reactant
    keep = [m for m in components["reactants"] if _map_numbers(m) & reached]
    if keep:
        components["reagents"] += [m for m in components["reactants"] if not _map_numbers(m) & reached]
        components["reactants"] = keep


def _elements(mols: list[Chem.Mol]) -> set[str]:
    return {a.GetSymbol() for m in mols for a in m.GetAtoms() if a.GetAtomicNum() > 1}


def _check_balance(components: dict[str, list[Chem.Mol]]) -> None:
    supplied = set().union(*(_map_numbers(m) for m in components["reactants"] + components["reagents"]))
    for product in components["products"]:
        mapped = _map_numbers(product)
        if mapped and supplied:
            missing = sorted(mapped - supplied)
            if missing:
                raise ReactionError("unbalanced", f"product atom map numbers {missing[:5]} appear in no reactant")
            continue
        missing_elements = sorted(_elements([product]) - _elements(components["reactants"] + components["reagents"]))
        if missing_elements:
            raise ReactionError("unbalanced", f"a product holds {', '.join(missing_elements)}, which no reactant "
                                              "or reagent holds")


def _canonical(mol: Chem.Mol) -> str:
    """Canonical SMILES without atom maps (a copy: the caller's molecule keeps its maps)."""
    mol = Chem.Mol(mol)
    for atom in mol.GetAtoms():
        atom.SetAtomMapNum(0)
    return Chem.MolToSmiles(mol)


def rxn_block_to_smiles(block: str) -> str:
    """An MDL RXN block as reaction SMILES with its atom maps (raises ReactionError when RDKit cannot read it)."""
    with divert_rdkit_messages():
        try:
            reaction = rdChemReactions.ReactionFromRxnBlock(block)
        except (ValueError, RuntimeError) as err:
            raise ReactionError("unparsable", f"not an RXN block RDKit reads: {err}") from None
    if reaction is None:
        raise ReactionError("unparsable", "not an RXN block RDKit reads")
    return rdChemReactions.ReactionToSmiles(reaction)
