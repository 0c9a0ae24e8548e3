"""Molecule tasks: properties as Q&A, descriptions and design, modality translation, ChEBI-20's two directions.

- `property_prediction` (Mol-Instructions): SELFIES in, QM9's HOMO / LUMO / gap in hartree out
  (the 4 decimals QM9 publishes), one record per property.
- `computed_property` (3D-MoLM's 3D-MoIT): SMILES (and the conformer) in, a sentence with the
  value and unit out: RDKit's molecular weight, LogP, TPSA and Bertz complexity, and HOMO / LUMO /
  gap in eV where the source knows them (QM9's B3LYP values, or GFN2-xTB on its geometry).
- `molecule_description` / `molecule_design`: SMILES → caption and caption → canonical SMILES.
- translations between SMILES, SELFIES, InChI, IUPAC names and captions (ChEBI-20-MM / SMolInstruct style).
- `mol2text` / `text2mol`: ChEBI-20's molecule → caption and caption → molecule, prompted in ICMA's
  words (retrieved examples fit its template).
Numeric records carry `meta.extra = {property, unit, value, method}` so scoring reads the number
without parsing text.
"""

from __future__ import annotations

from functools import partial

from molbridge.chem.descriptors import descriptors_of
from molbridge.tasks.answers import INCHI, NUMBER, SELFIES, SMILES, TEXT, AnswerKind
from molbridge.tasks.phrasing import choose, load_phrasings
from molbridge.tasks.registry import TASKS
from molbridge.tasks.spec import Draft, Field, Scorer, Subject, Task, Template

QUANTUM = ("homo", "lumo", "gap")
DESCRIPTORS = ("mol_weight", "logp", "tpsa", "bertz_complexity")
# property → (unit symbol stored in meta, decimals)
COMPUTED = {"mol_weight": ("g/mol", 2), "logp": ("", 2), "tpsa": ("A^2", 2), "bertz_complexity": ("", 1),
            "homo": ("eV", 3), "lumo": ("eV", 3), "gap": ("eV", 3)}
_SHOWN_UNIT = {"A^2": "Å²"}
PUBCHEM = {"polararea": "A^2", "xlogp": ""}  # ChEBI-20-MM's two property columns and their units
# 3D-MoLM's plausibility window of each computed property (eval.numeric.PLAUSIBILITY_WINDOWS names)
WINDOWS = {"homo": "homo", "lumo": "lumo", "gap": "homo_lumo_gap", "mol_weight": "molecular_weight",
           "logp": "logp", "tpsa": "tpsa", "bertz_complexity": "complexity", "scf_energy": "scf_energy"}


def with_article(noun: str) -> str:
    """`noun` after "a" or "an" by its first letter (the property names here start with a word, not an
    acronym read letter by letter, except HOMO/LUMO/LogP/TPSA, which all take "a")."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _property_prediction(subject: Subject, prefix: str) -> list[Draft]:
    phrasings = load_phrasings("properties")
    drafts = []
    for name in QUANTUM:
        rid = f"{prefix}:{name}"
        question = choose(phrasings["number_question"], rid).format(
            property=choose(phrasings["names"][name], rid, "name"), unit=choose(phrasings["units"]["Ha"], rid, "unit"))
        value = subject.facts["quantum_hartree"][name]
        drafts.append(Draft(question, subject.modalities.selfies or "", f"{value:.4f}", variant=name,
                            extra={"property": name, "unit": "Ha", "value": value}))
    return drafts


def _computed_values(subject: Subject) -> list[tuple[str, float, str]]:
    """(property, value, method): RDKit's descriptors, then the source's frontier orbitals in eV if it has them."""
    profile = descriptors_of(subject.modalities.smiles or "", subject.mol)
    values = [(name, float(getattr(profile, name)), "RDKit") for name in DESCRIPTORS]
    if "quantum_ev" in subject.facts:
        method = subject.facts["quantum_method"]
        values += [(name, float(subject.facts["quantum_ev"][name]), method) for name in QUANTUM]
    return values


def _computed_property(subject: Subject, prefix: str) -> list[Draft]:
    phrasings = load_phrasings("properties")
    drafts = []
    for name, value, method in _computed_values(subject):
        unit, decimals = COMPUTED[name]
        rid = f"{prefix}:{name}"
        prop = choose(phrasings["names"][name], rid, "name")
        shown = f"{value:.{decimals}f}" + (f" {_SHOWN_UNIT.get(unit, unit)}" if unit else "")
        answer = choose(phrasings["qa_answer"], rid, "answer").format(property=prop, a_property=with_article(prop),
                                                                     value=shown)
        question = choose(phrasings["qa_question"], rid).format(property=prop)
        drafts.append(Draft(question, subject.modalities.smiles or "", _capitalised(answer), variant=name,
                            extra={"method": method, "property": name, "unit": unit, "value": round(value, decimals)}))
    return drafts


def _pubchem_property(subject: Subject, prefix: str) -> list[Draft]:
    """ChEBI-20-MM's regression targets (PubChem's polar area in Å² and XLogP3), a bare number as the answer."""
    phrasings = load_phrasings("properties")
    drafts = []
    for name, value in subject.facts["pubchem_properties"].items():
        if value is None:
            continue
        rid = f"{prefix}:{name}"
        question = choose(phrasings["qa_question"], rid).format(property=choose(phrasings["names"][name], rid, "name"))
        unit = PUBCHEM[name]
        drafts.append(Draft(f"{question} Answer with a number{f' in {_SHOWN_UNIT[unit]}' if unit else ''}.",
                            subject.modalities.smiles or "", f"{value:g}", variant=name,
                            extra={"property": name, "unit": unit, "value": value}))
    return drafts


def _describe(subject: Subject, prefix: str) -> list[Draft]:
    question = choose(load_phrasings("descriptions")["describe_question"], prefix)
    return [Draft(question, subject.modalities.smiles or "", subject.modalities.caption or "")]


def _design(subject: Subject, prefix: str) -> list[Draft]:
    question = choose(load_phrasings("descriptions")["design_question"], prefix)
    return [Draft(question, subject.modalities.caption or "", subject.modalities.smiles or "")]


def _translate(source: str, target: str, subject: Subject, prefix: str) -> list[Draft]:
    """`source` → `target` (modality names), phrased from the translation family."""
    phrasings = load_phrasings("translation")
    question = choose(phrasings["question"], prefix).format(
        source=choose(phrasings["names"][source], prefix, "s"), target=choose(phrasings["names"][target], prefix, "t"))
    return [Draft(question, getattr(subject.modalities, source) or "", getattr(subject.modalities, target) or "")]


def _read_depiction(subject: Subject, prefix: str) -> list[Draft]:
    """A depiction → SMILES (ChEBI-20-MM's image2smi): no text input; a model reads the image drawn from the
    molecule (`chem.depiction`), so only the phrasing says what it is given."""
    phrasings = load_phrasings("translation")
    names = phrasings["names"]
    question = choose(phrasings["question"], prefix).format(source=choose(names["image"], prefix, "s"),
                                                             target=choose(names["smiles"], prefix, "t"))
    return [Draft(question, "", subject.modalities.smiles or "")]


def _pair(source: str, target: str, subject: Subject, prefix: str) -> list[Draft]:
    """A plain modality pair (ChEBI-20's rows): no instruction, the template asks."""
    return [Draft("", getattr(subject.modalities, source) or "", getattr(subject.modalities, target) or "")]


_ICMA_FINAL = "Based on the above examples, analyse the similarities and differences between the examples and finally "
MOLECULE = frozenset({"smiles"})
ANSWERS: dict[str, AnswerKind] = {"smiles": SMILES, "selfies": SELFIES, "inchi": INCHI, "iupac": TEXT,
                                  "caption": TEXT}
DIRECTIONS = (("smiles", "iupac"), ("iupac", "smiles"), ("smiles", "selfies"), ("selfies", "smiles"),
              ("smiles", "inchi"),
              # ChEBI-20-MM's grid: captions from every string modality, and back (SMILES ↔ caption are
              # molecule_description / molecule_design)
              ("selfies", "caption"), ("inchi", "caption"), ("iupac", "caption"), ("caption", "selfies"),
              ("caption", "inchi"))
TEXT_INPUTS = frozenset({"iupac", "caption"})  # searched as text by the copy baseline (BM25), not as a molecule

for task in (
    Task("property_prediction", "QM9 HOMO, LUMO or gap of a SELFIES molecule, a bare number in hartree "
         "(Mol-Instructions)", NUMBER, consumes=("selfies",), query="molecule", copy="morgan", variant="property",
         build=_property_prediction, needs=frozenset({"selfies", "quantum_hartree"}), phrasings="properties"),
    Task("computed_property", "a molecule's weight, LogP, TPSA, complexity (RDKit) and frontier orbitals (eV) in a "
         "sentence (3D-MoLM)", NUMBER, consumes=("smiles", "conformer"), query="molecule", copy="morgan",
         scorer=Scorer(windows=WINDOWS), variant="property", build=_computed_property, needs=MOLECULE,
         phrasings="properties", max_new_tokens=48),
    Task("pubchem_property", "a molecule's PubChem polar area or XLogP3, a bare number (ChEBI-20-MM's regression)",
         NUMBER, consumes=("smiles",), query="molecule", copy="morgan", variant="property", build=_pubchem_property,
         needs=frozenset({"smiles", "pubchem_properties"}), phrasings="properties"),
    Task("molecule_description", "SMILES → a caption of the molecule", TEXT, consumes=("smiles",), query="molecule",
         copy="morgan", build=_describe, needs=frozenset({"smiles", "caption"}), phrasings="descriptions"),
    Task("molecule_design", "a caption → the SMILES of a molecule that fits it", SMILES, consumes=("caption",),
         copy="bm25", build=_design, needs=frozenset({"smiles", "caption"}), phrasings="descriptions"),
    *(Task(f"{a}2{b}", f"{a} → {b} of the same molecule", ANSWERS[b], consumes=(a,),
           query="text" if a in TEXT_INPUTS else "molecule", copy="bm25" if a in TEXT_INPUTS else "morgan",
           build=partial(_translate, a, b), needs=frozenset({a, b}), phrasings="translation") for a, b in DIRECTIONS),
    Task("image2smiles", "a 2D depiction of the molecule (drawn from it) → its SMILES (ChEBI-20-MM's image2smi); "
         "the copy baseline reads the molecule itself", SMILES, consumes=("image",), query="molecule", copy="morgan",
         build=_read_depiction, needs=MOLECULE, phrasings="translation"),
    Task("mol2text", "ChEBI-20 molecule → caption, in ICMA's words", TEXT, source=Field("smiles"),
         target=Field("caption"), consumes=("smiles",), prompt="template", query="molecule", copy="morgan",
         template=Template("Generate a caption for the molecule: {source}", "Caption",
                           _ICMA_FINAL + "generate a caption for the molecule: {source}."),
         build=partial(_pair, "smiles", "caption"), needs=frozenset({"smiles", "caption"}), molt5="mol2text"),
    Task("text2mol", "ChEBI-20 caption → molecule, in ICMA's words", SMILES, source=Field("caption"),
         target=Field("smiles"), consumes=("caption",), prompt="template", copy="bm25",
         template=Template("Generate a molecule for the caption: {source}", "Molecule",
                           _ICMA_FINAL + "generate a molecule for the caption: {source}."),
         build=partial(_pair, "caption", "smiles"), needs=frozenset({"smiles", "caption"}), molt5="text2mol"),
):
    TASKS.register(task)

