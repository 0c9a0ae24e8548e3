"""Protein tasks (Mol-Instructions' protein family): function, functional description, design.

- `protein_function`: the sequence → the names of its GO molecular-function terms.
- `protein_description`: the sequence → its description: for UniProt/GO proteins one composed only
  of GO's own text (each term's name and definition), for Swiss-Prot entries the curated FUNCTION
  text.
- `protein_design`: that description → the sequence.
- `protein_catalytic_activity` (Swiss-Prot): the sequence → its EC numbers and the reactions it
  catalyses, per EC number in the entry's order: `EC 3.1.1.4. The catalysed reaction is: <reaction>
  (Rhea: RHEA:15801).`; only activities with an EC number (the `ec` scorer needs one); the ECs and
  Rhea ids are kept in `ec` and `rhea`.
- `protein_domain` (Swiss-Prot): the sequence → the names of its domains and motifs (UniProt's
  DOMAIN and MOTIF notes, in the entry's order, `; `-separated, each note without the qualifier
  UniProt gives after a `; `: `EGF-like 2; calcium-binding` is `EGF-like 2`), scored as a set (repeat
  numbers ignored: `tasks.answers.name_key`); `domains`, `motifs` (the whole notes), `pfam` and
  `interpro` keep the entry's lists.
- `protein_go_yes_no` (SEPIT's closed set): the sequence and one GO molecular-function term → yes or
  no; per protein one true term and one false term (neither an ancestor nor a descendant of any of
  its true terms), so the two answers are balanced. The false term is drawn uniformly from GO's
  molecular-function terms (seeded by the record): an easier negative than one drawn by annotation
  frequency.

Protein-input tasks' copy baseline is the nearest training protein by MMseqs2 (`mmseqs`); for a yes/no
question it answers whether that protein has the asked term (each record keeps its protein's true
terms in `go_ids`). A subject without the fact a task needs (a Swiss-Prot entry without FUNCTION
text, catalytic activity, domains or GO terms) gets no record of that task.
"""

from __future__ import annotations

from molbridge.protein.go import mf_relations
from molbridge.records import Record
from molbridge.tasks.answers import EC, NAMES, PROTEIN, TEXT, YES_NO
from molbridge.tasks.phrasing import choose, load_phrasings
from molbridge.tasks.registry import TASKS
from molbridge.tasks.spec import Draft, Subject, Task

MAX_TERMS = 6  # a description of the first six terms reads as a paragraph, not a list dump


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2].istitle() else text


def go_description(terms) -> str:
    """A description of a protein's molecular functions from GO's names and definitions (first MAX_TERMS terms)."""
    parts = [f"{t.name}: {_lower_first(t.definition.rstrip('.'))}" if t.definition else t.name
             for t in terms[:MAX_TERMS]]
    return "This protein's molecular functions (Gene Ontology) are " + "; ".join(parts) + "."


def _function(subject: Subject, prefix: str) -> list[Draft]:
    terms = subject.facts["go_terms"]
    if not terms:
        return []
    return [Draft(choose(load_phrasings("protein")["function_question"], prefix), subject.modalities.protein_sequence
                  or "", f"The protein's molecular functions are: {'; '.join(t.name for t in terms)}.",
                  extra={"go": [t.go_id for t in terms]})]


def _description(subject: Subject, prefix: str) -> list[Draft]:
    m = subject.modalities
    if not m.caption:
        return []
    return [Draft(choose(load_phrasings("protein")["description_question"], prefix), m.protein_sequence or "",
                  m.caption)]


def _design(subject: Subject, prefix: str) -> list[Draft]:
    m = subject.modalities
    if not m.caption:
        return []
    return [Draft(choose(load_phrasings("protein")["design_question"], prefix), m.caption, m.protein_sequence or "")]


def _catalytic_activity(subject: Subject, prefix: str) -> list[Draft]:
    activities = [a for a in subject.facts["catalytic_activities"] if a.ec]
    if not activities:
        return []
    ecs = list(dict.fromkeys(a.ec for a in activities))
    answer = " ".join(_ec_sentence(ec, [a for a in activities if a.ec == ec]) for ec in ecs)
    rhea = list(dict.fromkeys(r for a in activities for r in a.rhea))
    return [Draft(choose(load_phrasings("protein")["catalytic_activity_question"], prefix),
                  subject.modalities.protein_sequence or "", answer, extra={"ec": ecs, "rhea": rhea})]


def _ec_sentence(ec: str, activities) -> str:
    """`EC x. The catalysed reaction is: r (Rhea: id).`, the reactions of one EC number `; `-joined."""
    reactions = "; ".join(a.reaction + (f" (Rhea: {', '.join(a.rhea)})" if a.rhea else "") for a in activities)
    return f"EC {ec}. The catalysed reaction{'s are' if len(activities) > 1 else ' is'}: {reactions}."


def _domain(subject: Subject, prefix: str) -> list[Draft]:
    features = subject.facts["domains"]
    names = [n for n in dict.fromkeys(f.name.split(";")[0].strip() for f in features) if n]  # no qualifier
    if not names:
        return []
    extra = {"domains": [f.name for f in features if f.kind == "DOMAIN"],
             "motifs": [f.name for f in features if f.kind == "MOTIF"],
             "pfam": list(subject.facts.get("pfam", ())), "interpro": list(subject.facts.get("interpro", ()))}
    return [Draft(choose(load_phrasings("protein")["domain_question"], prefix), subject.modalities.protein_sequence
                  or "", "; ".join(names), extra=extra)]


def _yes_no(subject: Subject, prefix: str) -> list[Draft]:
    relations = mf_relations(subject.facts["go_db"])
    true_ids = [t.go_id for t in subject.facts["go_terms"]]
    near = set(true_ids).union(*(relations.related.get(go_id, frozenset()) for go_id in true_ids))
    ids = list(relations.names)
    attempt = 0
    while (false_id := choose(ids, prefix, "false", str(attempt))) in near:
        attempt += 1
    true = next(t for t in subject.facts["go_terms"] if t.go_id == choose(true_ids, prefix, "true"))
    questions = load_phrasings("protein")["yes_no_question"]
    sequence = subject.modalities.protein_sequence or ""
    return [Draft(choose(questions, prefix, label).format(term=name), sequence, answer, variant=label,
                  extra={"go_id": go_id, "label": label, "go_ids": sorted(true_ids)})
            for label, go_id, name, answer in (("yes", true.go_id, true.name, "Yes"),
                                               ("no", false_id, relations.names[false_id], "No"))]


def _neighbour_has_term(query: Record, neighbour: Record) -> str:
    """Yes if the nearest training protein has the asked GO term (its own question may be about another one)."""
    extra = neighbour.meta.extra
    if "go_ids" in extra:
        return "Yes" if query.meta.extra.get("go_id") in extra["go_ids"] else "No"
    # imported questions carry no term list: the neighbour's answer to the same question, else no
    same = extra.get("go_id") is not None and extra.get("go_id") == query.meta.extra.get("go_id")
    return neighbour.output if same else "No"


_PROTEIN = ("protein_sequence", "protein_coords")
for task in (
    Task("protein_function", "a protein sequence → its GO molecular functions", TEXT, consumes=_PROTEIN,
         query="protein", copy="mmseqs", split_group="protein", build=_function,
         needs=frozenset({"protein_sequence", "go_terms"}), phrasings="protein"),
    Task("protein_description", "a protein sequence → a description of its function", TEXT, consumes=_PROTEIN,
         query="protein", copy="mmseqs", split_group="protein", build=_description,
         needs=frozenset({"protein_sequence", "caption"}), phrasings="protein"),
    Task("protein_design", "a functional description → a protein sequence that fits it", PROTEIN,
         consumes=("caption",), copy="bm25", split_group="protein", build=_design,
         needs=frozenset({"protein_sequence", "caption"}), phrasings="protein"),
    Task("protein_go_yes_no", "a protein and a GO molecular function → whether it has it (SEPIT's closed set)",
         YES_NO, consumes=_PROTEIN, query="protein", copy="mmseqs", copy_answer=_neighbour_has_term,
         split_group="protein", question="go_id", build=_yes_no,
         needs=frozenset({"protein_sequence", "go_terms", "go_db"}), phrasings="protein"),
    Task("protein_catalytic_activity", "a protein sequence → its EC numbers and the reactions it catalyses", EC,
         consumes=_PROTEIN, query="protein", copy="mmseqs", split_group="protein", build=_catalytic_activity,
         needs=frozenset({"protein_sequence", "catalytic_activities"}), phrasings="protein"),
    Task("protein_domain", "a protein sequence → the names of its domains and motifs", NAMES, consumes=_PROTEIN,
         query="protein", copy="mmseqs", split_group="protein", build=_domain,
         needs=frozenset({"protein_sequence", "domains"}), phrasings="protein"),
):
    TASKS.register(task)
