"""Reaction tasks (Mol-Instructions' forward reaction prediction, retrosynthesis and reagent prediction).

- `forward_reaction_prediction`: reactants and reagents → the products.
- `retrosynthesis`: the main product (most heavy atoms) → the reactants.
- `reagent_prediction`: `reactants>>products` → the reagents (a reaction without reagents asks nothing).
Under Mol-Instructions' own names they are written in SELFIES, as its files are (so records imported
from those files are read, searched and scored by these tasks too); `*_smiles` are the same tasks in
SMILES. Components are canonical, sorted and joined by `.`, atom maps never shown.

A reaction's record is about its main product (`modalities.smiles`): splits keep a product (or its
scaffold) on one side. QC asks each task's question once: forward prediction per reactants + reagents
+ products, retrosynthesis per product + reactants (two reactions that differ only in solvent ask the
same retrosynthesis question), reagent prediction per whole reaction; two routes to one product stay
two questions. Answers are scored as molecules (exact match by InChI, fingerprint similarities,
validity). Every task is searched by the molecules of its input (never by its answer): the copy
baseline finds a forward question by its reactants and reagents, a reagent question by its reactants
and products, a retrosynthesis question by its product.
"""

from __future__ import annotations

from functools import partial

from molbridge.chem.parse import mol_to_selfies, to_mol
from molbridge.chem.reactions import Reaction
from molbridge.records import Record
from molbridge.tasks.answers import SELFIES, SMILES, AnswerKind
from molbridge.tasks.phrasing import choose, load_phrasings
from molbridge.tasks.registry import TASKS
from molbridge.tasks.spec import Draft, Subject, Task

NOTATIONS = {"selfies": SELFIES, "smiles": SMILES}
QUESTION = "reaction_question"  # meta.extra key: what makes two records of one task the same question


def _written(smiles: tuple[str, ...], notation: str) -> str:
    """Components joined by `.` in the notation (SELFIES per component, so each stays decodable alone)."""
    return ".".join(smiles if notation == "smiles" else (mol_to_selfies(to_mol(s)) for s in smiles))


def _draft(kind: str, notation: str, subject: Subject, prefix: str, source: str, target: str,
           question: str) -> Draft:
    phrasings = load_phrasings("reactions")
    instruction = choose(phrasings[f"{kind}_question"], prefix).format(
        notation=choose(phrasings["notation"][notation], prefix, "notation"))
    reaction: Reaction = subject.facts["reaction"]
    extra = {"reaction": reaction.smiles, QUESTION: question, "reactants": list(reaction.reactants),
             "reagents": list(reaction.reagents), "products": list(reaction.products)}
    return Draft(instruction, source, target, extra=extra)


def _forward(notation: str, subject: Subject, prefix: str) -> list[Draft]:
    r: Reaction = subject.facts["reaction"]
    return [_draft("forward", notation, subject, prefix, _written(r.reactants + r.reagents, notation),
                   _written(r.products, notation), r.smiles)]


def _retrosynthesis(notation: str, subject: Subject, prefix: str) -> list[Draft]:
    r: Reaction = subject.facts["reaction"]
    return [_draft("retrosynthesis", notation, subject, prefix, _written((r.main_product,), notation),
                   _written(r.reactants, notation), f"{'.'.join(r.reactants)}>>{r.main_product}")]


def _reagents(notation: str, subject: Subject, prefix: str) -> list[Draft]:
    r: Reaction = subject.facts["reaction"]
    if not r.reagents:
        return []
    question = f"{_written(r.reactants, notation)}>>{_written(r.products, notation)}"
    return [_draft("reagent", notation, subject, prefix, question, _written(r.reagents, notation), r.smiles)]


def input_molecules(kind: AnswerKind, record: Record) -> str:
    """The SMILES of every molecule in a record's input (`a.b>>c` reads as `a.b.c`), read in the task's
    notation: what a reaction question is searched by, for built and imported records alike."""
    assert kind.as_smiles is not None  # reaction tasks answer in a molecule notation
    return ".".join(smiles for part in record.input.split(">>") if (smiles := kind.as_smiles(part.strip())))


REACTION = frozenset({"smiles", "reaction"})
for notation, kind in NOTATIONS.items():
    suffix = "" if notation == "selfies" else "_smiles"
    reaction_task = partial(Task, answer=kind, query="molecule", query_molecule=partial(input_molecules, kind),
                            copy="morgan", question=QUESTION, needs=REACTION, phrasings="reactions",
                            max_new_tokens=192)
    for task in (
        reaction_task(f"forward_reaction_prediction{suffix}", f"reactants and reagents → the products ({notation})",
                      build=partial(_forward, notation)),
        reaction_task(f"retrosynthesis{suffix}", f"a product → the reactants that make it ({notation})",
                      consumes=(notation,), build=partial(_retrosynthesis, notation)),
        reaction_task(f"reagent_prediction{suffix}", f"reactants>>products → the reagents ({notation})",
                      build=partial(_reagents, notation)),
    ):
        TASKS.register(task)
