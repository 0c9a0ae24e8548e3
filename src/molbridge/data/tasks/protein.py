"""Protein tasks from UniProt GO annotations (Mol-Instructions' protein family): function, description, design.

- `protein_function`: the sequence → the names of its GO molecular-function terms.
- `protein_description`: the sequence → a description composed only of GO's own text: each
  term's name and definition ("ATP binding: binding to ATP, adenosine 5'-triphosphate, ...").
- `protein_design`: that description → the sequence.
"""

from __future__ import annotations

from molbridge.data.records import Modalities, Record, make_record
from molbridge.data.sources.uniprot_go import LICENSE, SOURCE, AnnotatedProtein
from molbridge.data.tasks.phrasing import choose, load_phrasings

TASKS = ("protein_function", "protein_description", "protein_design")
MAX_TERMS = 6  # a description of the first six terms reads as a paragraph, not a list dump


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2].istitle() else text


def function_answer(protein: AnnotatedProtein) -> str:
    names = [t.name for t in protein.terms]
    return "The protein's molecular functions are: " + "; ".join(names) + "."


def description(protein: AnnotatedProtein) -> str:
    """GO-definition description of a protein's molecular functions (at most MAX_TERMS terms)."""
    parts = [f"{t.name}: {_lower_first(t.definition.rstrip('.'))}" if t.definition else t.name
             for t in protein.terms[:MAX_TERMS]]
    return "This protein's molecular functions (Gene Ontology) are " + "; ".join(parts) + "."


def protein_records(protein: AnnotatedProtein, tasks: tuple[str, ...] = TASKS) -> list[Record]:
    """The requested tasks for one annotated protein; raises RecordError for a sequence the schema refuses."""
    text = description(protein)
    modalities = Modalities(protein_sequence=protein.sequence, caption=text)
    extra = {"go": [t.go_id for t in protein.terms]} | ({"cluster": protein.cluster} if protein.cluster else {})
    meta = {"source": SOURCE, "source_id": protein.accession, "license": LICENSE, "extra": extra}
    answers = {"protein_function": ("function_question", protein.sequence, function_answer(protein)),
               "protein_description": ("description_question", protein.sequence, text),
               "protein_design": ("design_question", text, protein.sequence)}
    return _records(f"uniprot:{protein.accession}", tasks, answers, modalities, meta)


def swissprot_records(entry, tasks: tuple[str, ...] = ("protein_description", "protein_design")) -> list[Record]:
    """Description (sequence → curated FUNCTION text) and design (FUNCTION text → sequence) for a Swiss-Prot entry."""
    from molbridge.data.sources.swissprot import LICENSE as SWISSPROT_LICENSE

    modalities = Modalities(protein_sequence=entry.sequence, caption=entry.function, protein_coords=entry.coords)
    meta = {"source": "swissprot", "source_id": entry.accession, "license": SWISSPROT_LICENSE,
            "extra": {"name": entry.name}}
    answers = {"protein_description": ("description_question", entry.sequence, entry.function),
               "protein_design": ("design_question", entry.function, entry.sequence)}
    return _records(f"swissprot:{entry.accession}", tasks, answers, modalities, meta)


def _records(key: str, tasks: tuple[str, ...], answers: dict[str, tuple[str, str, str]], modalities: Modalities,
             meta: dict) -> list[Record]:
    """One record per task from `answers[task] = (phrasing list, input, output)`."""
    phrasings = load_phrasings("protein")
    records = []
    for task in tasks:
        slot, given, answer = answers[task]
        rid = f"{key}:{task}"
        records.append(make_record(id=rid, task=task, instruction=choose(phrasings[slot], rid), input=given,
                                   output=answer, modalities=modalities, meta=meta))
    return records
