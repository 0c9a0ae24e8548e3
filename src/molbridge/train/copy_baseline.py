"""The retrieval floor for any instruction task: copy the answer of the most similar training record.

Molecule-input tasks find the nearest training molecule by Morgan Tanimoto (MolReGPT's copy
baseline, generalised); text-input tasks (design from a description, names to structures) the
best BM25 match of the input. Protein-input tasks have no baseline here (a sequence is one BM25
token; MMseqs2 search is the right tool and is left for the protein issue).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from molbridge.data.records import Record
from molbridge.data.sources.chebi20 import ChEBI20Record
from molbridge.retrieval.baselines import retrieve

MOLECULE_INPUT = {"property_prediction", "computed_property", "molecule_description", "smiles2iupac",
                  "smiles2selfies", "selfies2smiles", "smiles2inchi"}
TEXT_INPUT = {"molecule_design", "iupac2smiles", "protein_design"}


def _as_pair(record: Record) -> ChEBI20Record:
    smiles = record.modalities.smiles or ""
    return ChEBI20Record(cid=record.id, smiles=smiles, smiles_raw=smiles, description=record.input or record.instruction,
                         line=0)


def copy_answers(train: Sequence[Record], test: Sequence[Record]) -> dict[str, str]:
    """test record id → the answer copied from its nearest training record of the same task (and property)."""
    def key(r: Record) -> tuple[str, object]:
        return r.task, r.meta.extra.get("property")

    pools: dict[tuple, list[Record]] = defaultdict(list)
    for record in train:
        pools[key(record)].append(record)
    queries: dict[tuple, list[Record]] = defaultdict(list)
    for record in test:
        queries[key(record)].append(record)
    copied: dict[str, str] = {}
    for group, asked in queries.items():
        pool = pools.get(group, [])
        task = group[0]
        if not pool or task not in MOLECULE_INPUT | TEXT_INPUT:
            continue
        direction, retriever = ("mol2text", "morgan") if task in MOLECULE_INPUT else ("text2mol", "bm25")
        found = retrieve(direction, retriever, [_as_pair(r) for r in pool], [_as_pair(r) for r in asked], k=1,
                         ties="lowest" if retriever == "bm25" else "bm25s")
        for record, best in zip(asked, found.indices[:, 0], strict=True):
            if best >= 0:
                copied[record.id] = pool[int(best)].output
    return copied
