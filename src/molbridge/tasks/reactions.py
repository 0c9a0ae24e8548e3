"""Reaction tasks (Mol-Instructions' forward reaction prediction, retrosynthesis and reagent prediction).

- `forward_reaction_prediction`: reactants and reagents → the products.
- `retrosynthesis`: the main product (most heavy atoms) → the reactants.
- `reagent_prediction`: `reactants>>products` → the reagents (a reaction without reagents asks nothing).
Each comes in SMILES and, as Mol-Instructions writes them, in SELFIES (`*_selfies`); components are
canonical, sorted and joined by `.`, atom maps never shown. A reaction's record is about its main
product (`modalities.smiles`): splits keep a product (or its scaffold) on one side, and QC asks one
question per canonical reaction (`meta.extra["reaction"]`), so two routes to one product stay two
questions while a repeated reaction is a duplicate. Answers are scored as molecules (exact match by
InChI, fingerprint similarities, validity); the copy baseline searches a forward question by its
reactants and reagents, a reagent question by its reactants and products, a retrosynthesis question
by its product.
"""

from __future__ import annotations

from functools import partial

from molbridge.chem.parse import mol_to_selfies, to_mol
from molbridge.chem.reactions import Reaction
from molbridge.records import Record
from molbridge.tasks.answers import SELFIES, SMILES
from molbridge.tasks.phrasing import choose, load_phrasings
from molbridge.tasks.registry import TASKS
from molbridge.tasks.spec import Draft, Subject, Task

NOTATIONS = {"smiles": SMILES, "selfies": SELFIES}


def _written(smiles: tuple[str, ...], notation: str) -> str:
    """Components joined by `.` in the notation (SELFIES per component, so each stays decodable alone)."""
    return ".".join(smiles if notation == "smiles" else (mol_to_selfies(to_mol(s)) for s in smiles))


def _draft(kind: str, notation: str, subject: Subject, prefix: str, source: str, target: str) -> Draft:
    phrasings = load_phrasings("reactions")
    question = choose(phrasings[f"{kind}_question"], prefix).format(
        notation=choose(phrasings["notation"][notation], prefix, "notation"))
    reaction: Reaction = subject.facts["reaction"]
    extra = {"reaction": reaction.smiles, "reactants": list(reaction.reactants), "reagents": list(reaction.reagents),
             "products": list(reaction.products)}
    return Draft(question, source, target, extra=extra)


def _forward(notation: str, subject: Subject, prefix: str) -> list[Draft]:
    r: Reaction = subject.facts["reaction"]
    return [_draft("forward", notation, subject, prefix, _written(r.reactants + r.reagents, notation),
                   _written(r.products, notation))]


def _retrosynthesis(notation: str, subject: Subject, prefix: str) -> list[Draft]:
    r: Reaction = subject.facts["reaction"]
    return [_draft("retrosynthesis", notation, subject, prefix, _written((r.main_product,), notation),
                   _written(r.reactants, notation))]


def _reagents(notation: str, subject: Subject, prefix: str) -> list[Draft]:
    r: Reaction = subject.facts["reaction"]
    if not r.reagents:
        return []
    question = f"{_written(r.reactants, notation)}>>{_written(r.products, notation)}"
    return [_draft("reagent", notation, subject, prefix, question, _written(r.reagents, notation))]


def reactants_and_reagents(record: Record) -> str:
    """What a forward question is searched by: its reactants and reagents (never its product, the answer)."""
    return ".".join(record.meta.extra.get("reactants", []) + record.meta.extra.get("reagents", []))


def reactants_and_products(record: Record) -> str:
    """What a reagent question is searched by: the reaction without its reagents."""
    return ".".join(record.meta.extra.get("reactants", []) + record.meta.extra.get("products", []))


REACTION = frozenset({"smiles", "reaction"})
for notation, kind in NOTATIONS.items():
    suffix = "" if notation == "smiles" else "_selfies"
    for task in (
        Task(f"forward_reaction_prediction{suffix}", f"reactants and reagents → the products ({notation})", kind,
             query="molecule", query_molecule=reactants_and_reagents, copy="morgan", question="reaction",
             build=partial(_forward, notation), needs=REACTION, phrasings="reactions", max_new_tokens=192),
        Task(f"retrosynthesis{suffix}", f"a product → the reactants that make it ({notation})", kind,
             consumes=(notation,), query="molecule", copy="morgan", question="reaction",
             build=partial(_retrosynthesis, notation), needs=REACTION, phrasings="reactions", max_new_tokens=192),
        Task(f"reagent_prediction{suffix}", f"reactants>>products → the reagents ({notation})", kind,
             query="molecule", query_molecule=reactants_and_products, copy="morgan", question="reaction",
             build=partial(_reagents, notation), needs=REACTION, phrasings="reactions", max_new_tokens=192),
    ):
        TASKS.register(task)
