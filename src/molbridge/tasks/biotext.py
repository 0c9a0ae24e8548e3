"""Biomolecular text tasks (Mol-Instructions' text family), built from annotated abstracts and question files.

The names differ from Mol-Instructions' own file names (`chemical_entity_recognition`,
`multiple_choice_question`, ...) on purpose: an imported Mol-Instructions record keeps its file's task
name and answer format, and must get the generic imported task, not one of these.

- `chemical_mentions`: a PubMed title and abstract → its chemical mentions, each distinct text once, in
  order of first occurrence: `Naloxone; clonidine; ...` (case kept: `Naloxone` and `naloxone` are two
  items, as exact matching scores them; no offsets or types: the answer is the mention texts).
- `chemical_disease_relation`: the text → the chemical–disease pairs its CID relations name, by name:
  `alpha-methyldopa | hypotensive; ...`. A relation names MeSH ids; each id is written as the text of
  its first mention (by offset) in the document that names it alone: a composite mention ("nausea and
  vomiting", `D009325|D014839`) names an id only where no other mention does, or two pairs would read
  as one.
- `chemical_protein_relation`: the text → (chemical, group, gene/protein) triples of ChemProt's
  evaluated groups, by the texts of the two mentions the relation names: `clonidine | CPR:5 | alpha2-
  adrenoceptor; ...`; the group ids (CPR:3 upregulator, CPR:4 downregulator, CPR:5 agonist, CPR:6
  antagonist, CPR:9 substrate/product) are the labels the shared task scored.
- `multiple_choice`: a question and its options (and context) → the option letter (`OPTION_LETTER`).
- `true_false`: a question (and context) → yes, no or maybe (PubMedQA's answers; `YES_NO_MAYBE`).
- `open_qa`: a question (and context) → a free-text answer.
An extraction answer with nothing to extract is `none`. Items are joined by `; ` and fields by ` | `
(`list_answers.format_items`), so a mention holding `;` or `|` would read as two; each record keeps its gold
items in `meta.extra["items"]`, with the mentions (`entities`: [start, end, text, type]) and relations
they come from, so scorers never re-read the answer text. Every task's copy baseline is the nearest
training record by BM25 over the input. Every record is split by `meta.extra[DOCUMENT]` (its PMID, or a
question's content hash; `tasks.documents`), which its source's subject sets; a question is deduplicated
by its content hash (`meta.extra["question_hash"]`), not by its row id.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from molbridge.tasks.answers import ITEMS, OPTION_LETTER, TEXT, YES_NO_MAYBE
from molbridge.tasks.documents import Document, Mention, QAItem
from molbridge.tasks.list_answers import LETTERS, format_items
from molbridge.tasks.phrasing import choose, load_phrasings
from molbridge.tasks.registry import TASKS
from molbridge.tasks.spec import Draft, Scorer, Subject, Task

CHEMICAL = ("Chemical", "CHEMICAL")


def _name(text: str) -> str:
    return " ".join(text.split())


def _drafts(subject: Subject, prefix: str, key: str, items: Sequence[tuple[str, ...]], relations: list) -> list[Draft]:
    """The one record of an extraction task: the phrased question and the answer format, the text, the items."""
    doc: Document = subject.facts["document"]
    phrasings = load_phrasings("biotext")
    instruction = f"{choose(phrasings[f'{key}_question'], prefix)} {phrasings[f'{key}_format']}"
    entities = [[m.start, m.end, m.text, m.type] for m in doc.mentions]
    unique = list(dict.fromkeys(items))
    return [Draft(instruction, doc.text, format_items(unique),
                  extra={"items": [list(item) for item in unique], "entities": entities, "relations": relations})]


def _entities(subject: Subject, prefix: str) -> list[Draft]:
    doc: Document = subject.facts["document"]
    items = [(_name(m.text),) for m in doc.mentions if m.type in CHEMICAL]
    return _drafts(subject, prefix, "entity", items, [])


def _first_mentions(doc: Document) -> dict[str, Mention]:
    """MeSH id → its first mention in the document that names it alone (mentions are in offset order), else its
    first composite mention (one naming several ids: "nausea and vomiting" for D009325|D014839)."""
    first: dict[str, Mention] = {}
    composite: dict[str, Mention] = {}
    for m in doc.mentions:
        ids = m.ids()
        for identifier in ids:
            (first if len(ids) == 1 else composite).setdefault(identifier, m)
    return composite | first


def _chemical_disease(subject: Subject, prefix: str) -> list[Draft]:
    doc: Document = subject.facts["document"]
    first = _first_mentions(doc)
    pairs = [(chemical, disease) for kind, chemical, disease in doc.relations if kind == "CID"]
    items = [(_name(first[chemical].text), _name(first[disease].text)) for chemical, disease in pairs]
    return _drafts(subject, prefix, "cdr", items, [list(pair) for pair in pairs])


def _chemical_protein(subject: Subject, prefix: str) -> list[Draft]:
    doc: Document = subject.facts["document"]
    by_number = {m.identifier: m for m in doc.mentions}
    items = [(_name(by_number[chemical].text), group, _name(by_number[gene].text))
             for group, chemical, gene in doc.relations]
    return _drafts(subject, prefix, "cpr", items, [list(relation) for relation in doc.relations])


def _question_input(item: QAItem) -> str:
    parts = [f"Context: {item.context}"] if item.context else []
    parts.append(f"Question: {item.question}")
    if item.options:
        parts.append("Options:\n" + "\n".join(f"{letter}. {option}" for letter, option in zip(LETTERS, item.options)))
    return "\n".join(parts)


def _question(subject: Subject, prefix: str, kind: str) -> list[Draft]:
    """The record of a subject whose question is of type `kind` (a question file mixes types), else none."""
    item: QAItem = subject.facts["qa"]
    if item.type != kind:
        return []
    extra = {"qa_id": item.id} | ({"options": list(item.options)} if item.options else {})
    return [Draft(choose(load_phrasings("biotext")[f"{kind}_question"], prefix), _question_input(item), item.answer,
                  extra=extra)]


def _multiple_choice(subject: Subject, prefix: str) -> list[Draft]:
    return _question(subject, prefix, "multiple_choice")


def _true_false(subject: Subject, prefix: str) -> list[Draft]:
    return _question(subject, prefix, "true_false")


def _open(subject: Subject, prefix: str) -> list[Draft]:
    return _question(subject, prefix, "open")


_TEXT = frozenset({"document_text"})
_text_task = partial(Task, copy="bm25", split_group="document", phrasings="biotext")  # what every text task shares
_question_task = partial(_text_task, question="question_hash", needs=frozenset({"qa"}))  # dedup by content
for task in (
    _text_task("chemical_mentions", "a PubMed title and abstract → its chemical mentions", ITEMS,
               build=_entities, needs=_TEXT | {"chemical_mentions"}),
    _text_task("chemical_disease_relation", "a PubMed title and abstract → its chemical–disease (CID) pairs by "
               "name", ITEMS, build=_chemical_disease, needs=_TEXT | {"chemical_disease_relations"}),
    _text_task("chemical_protein_relation", "a PubMed title and abstract → its chemical–protein relations "
               "(ChemProt groups CPR:3,4,5,6,9)", ITEMS, build=_chemical_protein,
               needs=_TEXT | {"chemical_protein_relations"}),
    _question_task("multiple_choice", "a question and its options → the letter of the right one", OPTION_LETTER,
                   scorer=Scorer(labels=tuple(LETTERS)), build=_multiple_choice),
    _question_task("true_false", "a question (with its context) → yes, no or maybe", YES_NO_MAYBE,
                   scorer=Scorer(labels=("yes", "no", "maybe")), build=_true_false),
    _question_task("open_qa", "a question (with its context) → a free-text answer", TEXT, build=_open),
):
    TASKS.register(task)
