"""The sources molbridge builds records from: each a registration naming its reader, options and subjects.

A source item becomes one subject (a molecule or a protein with what the source knows about it);
every registered task whose needs the subject covers can be built from it. Add a source: a
reader yielding items, a subject function, an options model, one `SOURCES.register`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from molbridge.data.remote import fetched_dir
from molbridge.data.sources import (
    b3db,
    c3p,
    chebi20,
    chemprot,
    moses,
    pubtator,
    qa_files,
    qm9,
    reactions,
    swissprot,
    uniprot_go,
)
from molbridge.data.sources.paths import display_path
from molbridge.data.sources.reading import ExistingPath, Reading
from molbridge.errors import MissingResourceError
from molbridge.protein.ec import read_enzyme_list
from molbridge.records import Conformer, Modalities
from molbridge.tasks import SOURCES, Source, SourceOptions, Subject
from molbridge.tasks.documents import DOCUMENT, Document, pmid_document
from molbridge.tasks.proteins import go_description
from molbridge.tasks.subjects import molecule_subject, protein_subject

MOLECULE = frozenset({"smiles", "selfies", "inchi"})
QM9_METHOD = "B3LYP/6-31G(2df,p) (QM9)"


def _meta(source: str, source_id: str, license: str, **extra) -> dict:
    return {"source": source, "source_id": source_id, "license": license, "extra": extra}


# --- QM9 ---------------------------------------------------------------------------------------------------------

class QM9Options(SourceOptions):
    path: ExistingPath | None = None  # a directory with qm9_part{1,2,3}.csv (default: the qm9pack package's)
    # HOMO/LUMO/gap of the computed-property Q&A: QM9's B3LYP values, or GFN2-xTB on QM9's geometry
    quantum: Literal["qm9", "xtb"] = "qm9"


def _qm9_subject(molecule: qm9.QM9Molecule, options: QM9Options) -> list[Subject]:
    hartree = {name: molecule.properties[name] for name in ("homo", "lumo", "gap")}
    if options.quantum == "xtb":
        from molbridge.chem.xtb import METHOD, frontier_orbitals

        orbitals = frontier_orbitals(molecule.atoms, molecule.coords)
        ev, method = {"homo": orbitals.homo_ev, "lumo": orbitals.lumo_ev, "gap": orbitals.gap_ev}, METHOD
    else:
        ev, method = {name: value * qm9.HARTREE_TO_EV for name, value in hartree.items()}, QM9_METHOD
    conformer = Conformer(atoms=molecule.atoms, coords=molecule.coords, method=QM9_METHOD)
    return [molecule_subject(f"qm9:{molecule.index}", molecule.smiles, _meta("qm9", str(molecule.index), qm9.LICENSE),
                             conformer=conformer,
                             facts={"quantum_hartree": hartree, "quantum_ev": ev, "quantum_method": method})]


SOURCES.register(Source(
    "qm9", "QM9: 130,831 small molecules with B3LYP geometries and properties (PyPI qm9pack)", qm9.LICENSE,
    QM9Options, read=lambda o, r: qm9.read_qm9(o.path, problems=r.problems), where=lambda m: m.where,
    subjects=_qm9_subject, provides=MOLECULE | {"conformer", "quantum_hartree", "quantum_ev"}, geometry=True))


# --- MOSES --------------------------------------------------------------------------------------------------------

class MosesOptions(SourceOptions):
    path: ExistingPath | None = None  # a MOSES train.csv.gz (default: the molsets package's)


def _moses_rows(options: MosesOptions, reading: Reading) -> Iterator[tuple[str, int, str]]:
    shown = display_path(options.path or moses.moses_path())
    return ((f"{shown}:{number}", number, smiles) for number, smiles in moses.iter_moses(options.path))


def _moses_subject(item: tuple[str, int, str], options: MosesOptions) -> list[Subject]:
    _, number, smiles = item
    return [molecule_subject(f"moses:{number}", smiles, _meta("moses", str(number), moses.LICENSE))]


SOURCES.register(Source(
    "moses", "MOSES: 1.58 M drug-like training SMILES (PyPI molsets)", moses.LICENSE, MosesOptions,
    read=_moses_rows, where=lambda item: item[0], subjects=_moses_subject, provides=MOLECULE))


# --- ChEBI classes (c3p) ------------------------------------------------------------------------------------------

class ChEBIClassOptions(SourceOptions):
    path: ExistingPath | None = None  # a directory of c3p class programs (default: the c3p package's)


def class_caption(name: str, klass: c3p.ChEBIClass) -> str:
    """A ChEBI-20-style caption built only from ChEBI's name, class name and definition (nothing invented)."""
    definition = klass.definition.rstrip(".")
    definition = definition[:1].lower() + definition[1:] if definition[:2].istitle() else definition
    return f"The molecule is {name}. It belongs to the ChEBI class '{klass.name}', defined as {definition}."


def _class_members(options: ChEBIClassOptions, reading: Reading) -> Iterator[tuple[c3p.ChEBIClass, str, str]]:
    for klass in c3p.read_chebi_classes(options.path, problems=reading.problems):
        for name, smiles in klass.members:
            yield klass, name, smiles


def _class_subject(item: tuple[c3p.ChEBIClass, str, str], options: ChEBIClassOptions) -> list[Subject]:
    klass, name, smiles = item
    subject = molecule_subject("", smiles, _meta(c3p.SOURCE, klass.chebi_id, c3p.LICENSE, chebi_class=klass.name,
                                                 name=name), caption=class_caption(name, klass))
    return [replace(subject, key=f"c3p:{klass.chebi_id}:{subject.modalities.smiles}")]


SOURCES.register(Source(
    "chebi_classes", "ChEBI classes with definitions and member molecules (PyPI c3p); captions from ChEBI's text",
    c3p.LICENSE, ChEBIClassOptions, read=_class_members, where=lambda item: f"{item[0].where} ({item[1]})",
    subjects=_class_subject, provides=MOLECULE | {"caption"}))


# --- ChEBI-20 -----------------------------------------------------------------------------------------------------

class ChEBI20Options(SourceOptions):
    path: ExistingPath | None = None  # a ChEBI-20 split (CID, SMILES, description TSV); default: the fetched one
    split: Literal["train", "validation", "test"] | None = None  # a fetched split (default train); not with `path`

    @model_validator(mode="after")
    def _fetched(self) -> ChEBI20Options:
        if self.path is not None and self.split is not None:
            raise ValueError("give `path` (a table) or `split` (of the fetched ChEBI-20), not both")
        if self.path is None:
            try:
                fetched_dir("chebi20")
            except MissingResourceError as err:
                raise ValueError(f"no path given, and {err}") from None
        return self

    def table(self) -> Path:
        if self.path:
            return Path(self.path)
        return fetched_dir("chebi20") / "ChEBI-20_data" / f"{self.split or 'train'}.txt"


def _chebi20_subject(row: chebi20.ChEBI20Record, options: ChEBI20Options) -> list[Subject]:
    return [molecule_subject(f"chebi20:{row.cid}", row.smiles, _meta("chebi20", row.cid, chebi20.LICENSE),
                             caption=row.description)]


SOURCES.register(Source(
    "chebi20", "ChEBI-20 (MolT5): molecules with ChEBI captions", chebi20.LICENSE, ChEBI20Options,
    read=lambda o, r: iter(chebi20.read_chebi20(o.table())), where=lambda row: f"CID {row.cid} (line {row.line})",
    subjects=_chebi20_subject, provides=MOLECULE | {"caption"}, remote="chebi20"))


class ChEBI20MMOptions(SourceOptions):
    path: ExistingPath  # a ChEBI-20-MM split (CSV: CID, SMILES, description, polararea, xlogp, inchi, iupacname, …)
    split: Literal["train", "validation", "test"] | None = None  # the file's published split (`split.method: keep`)


def _chebi20_mm_subject(row: chebi20.ChEBI20MMRecord, options: ChEBI20MMOptions) -> list[Subject]:
    """SMILES, SELFIES and InChI computed from the molecule (as for every source: the table's SELFIES column is
    empty in 487 test rows), the caption, IUPAC name and the two PubChem properties from the table."""
    meta = _meta("chebi20mm", row.cid, chebi20.LICENSE) | {"split": options.split}
    return [molecule_subject(f"chebi20:{row.cid}", row.smiles, meta,
                             caption=row.description, iupac=row.iupac_name or None,
                             facts={"pubchem_properties": {"polararea": row.polararea, "xlogp": row.xlogp}})]


SOURCES.register(Source(
    "chebi20mm", "ChEBI-20-MM (SLM4Mol): ChEBI-20 molecules with captions, IUPAC names and two properties",
    chebi20.LICENSE, ChEBI20MMOptions, read=lambda o, r: iter(chebi20.read_chebi20_mm(o.path)),
    where=lambda row: f"CID {row.cid} (line {row.line})", subjects=_chebi20_mm_subject,
    provides=MOLECULE | {"caption", "iupac", "pubchem_properties"}))


# --- B3DB ---------------------------------------------------------------------------------------------------------

class B3DBOptions(SourceOptions):
    path: ExistingPath | None = None  # B3DB_classification.tsv (default: the qc-b3db package's)


def _b3db_subject(molecule: b3db.NamedMolecule, options: B3DBOptions) -> list[Subject]:
    meta = _meta(b3db.SOURCE, molecule.cid or molecule.number, b3db.LICENSE, name=molecule.name)
    return [molecule_subject(f"b3db:{molecule.number}", molecule.smiles, meta, iupac=molecule.iupac)]


SOURCES.register(Source(
    "b3db", "B3DB: 7,807 named drugs with IUPAC names (PyPI qc-b3db)", b3db.LICENSE, B3DBOptions,
    read=lambda o, r: b3db.read_b3db(o.path, problems=r.problems), where=lambda m: m.where,
    subjects=_b3db_subject, provides=MOLECULE | {"iupac"}))


# --- Reactions (USPTO-style files) --------------------------------------------------------------------------------

class ReactionOptions(SourceOptions):
    path: ExistingPath  # a reaction table (.csv/.tsv/.rsmi/.txt, .gz too), an .rxn/.rdf file or a directory of them
    column: str | None = None  # the reaction SMILES column (default: found by its name)
    id_column: str | None = None  # the reaction id column (default: `id`, `PatentNumber`, … or the line)
    unmapped_reactants: Literal["keep", "reagents"] = "keep"  # atom-mapped reactants reaching no product atom
    license: str = reactions.LICENSE  # of the user's file


def _reaction_entries(options: ReactionOptions, reading: Reading) -> Iterator[reactions.ReactionEntry]:
    return reactions.read_reactions(options.path, reading, column=options.column, id_column=options.id_column,
                                    unmapped_reactants_as_reagents=options.unmapped_reactants == "reagents")


def _reaction_subject(entry: reactions.ReactionEntry, options: ReactionOptions) -> list[Subject]:
    """The reaction's subject is its main product (what splits and QC go by); the reaction is a fact."""
    key = f"reaction:{Path(options.path).name}:{entry.position}"  # the file name with its suffix: train.csv ≠ train.txt
    meta = _meta("reactions", entry.source_id, options.license, **entry.extra)
    return [molecule_subject(key, entry.reaction.main_product, meta, facts={"reaction": entry.reaction})]


SOURCES.register(Source(
    "reactions", "reaction SMILES tables (USPTO-50k / USPTO-MIT / Lowe's .rsmi) and MDL .rxn/.rdf files",
    reactions.LICENSE, ReactionOptions, read=_reaction_entries, where=lambda e: e.where,
    subjects=_reaction_subject, provides=MOLECULE | {"reaction"}))


# --- UniProt / GO -------------------------------------------------------------------------------------------------

class ClusterSettings(BaseModel):
    """Protein clustering (MMseqs2, or the k-mer fallback) for redundancy removal and the cluster split."""

    model_config = ConfigDict(extra="forbid")
    min_seq_id: float = Field(default=0.5, gt=0, le=1)
    coverage: float = Field(default=0.8, gt=0, le=1)
    method: Literal["auto", "mmseqs2", "kmer"] = "auto"


class UniProtGOOptions(SourceOptions):
    cluster: ClusterSettings | None = None  # cluster the (limited) proteins: one representative per cluster kept


def _uniprot_proteins(options: UniProtGOOptions, reading: Reading) -> Iterator[uniprot_go.AnnotatedProtein]:
    from molbridge.data.fetch import uniprot_go_paths

    proteins = uniprot_go.read_uniprot_go(*uniprot_go_paths(), problems=reading.problems, counts=reading.counts)
    if options.cluster is None:
        return proteins
    c = options.cluster  # clustering needs every protein at once: the limited source is read first
    members, method = uniprot_go.clustered(list(itertools.islice(proteins, options.limit)), min_seq_id=c.min_seq_id,
                                           coverage=c.coverage, method=c.method)
    reading.notes["clustering"] = f"{method} at {c.min_seq_id:.0%} identity, {c.coverage:.0%} coverage"
    return iter(members)


def _uniprot_subject(protein: uniprot_go.AnnotatedProtein, options: UniProtGOOptions) -> list[Subject]:
    extra = {"go": [t.go_id for t in protein.terms]} | ({"cluster": protein.cluster} if protein.cluster else {})
    meta = {"source": uniprot_go.SOURCE, "source_id": protein.accession, "license": uniprot_go.LICENSE, "extra": extra}
    from molbridge.data.fetch import uniprot_go_paths

    go_db = str(uniprot_go_paths(fetch=False)[1])  # the GO hierarchy for closed-set questions (read once)
    return [protein_subject(f"uniprot:{protein.accession}", protein.sequence, meta,
                            caption=go_description(protein.terms), facts={"go_terms": protein.terms, "go_db": go_db})]


SOURCES.register(Source(
    "uniprot_go", "UniProt proteins with GO molecular functions (Debian metastudent-data + GO.db)", uniprot_go.LICENSE,
    UniProtGOOptions, read=_uniprot_proteins, where=lambda p: p.where, subjects=_uniprot_subject,
    provides=frozenset({"protein_sequence", "caption", "go_terms", "go_db"})))


# --- Swiss-Prot ---------------------------------------------------------------------------------------------------

class SwissProtOptions(SourceOptions):
    path: ExistingPath  # uniprot_sprot.dat[.gz] or any Swiss-Prot flat file
    structures: ExistingPath | None = None  # PDB/mmCIF files named by accession (or AlphaFold DB names)
    enzymes: ExistingPath | None = None  # ExPASy's enzyme.dat: EC numbers not current in it are reported, left out


def _swissprot_entries(options: SwissProtOptions, reading: Reading) -> Iterator[swissprot.SwissProtEntry]:
    enzymes = read_enzyme_list(options.enzymes) if options.enzymes else None
    return swissprot.read_swissprot(options.path, structures=options.structures, enzymes=enzymes,
                                    problems=reading.problems)


def _swissprot_subject(entry: swissprot.SwissProtEntry, options: SwissProtOptions) -> list[Subject]:
    """A protein with what its entry knows; a fact the entry lacks is empty and the tasks needing it skip it."""
    meta = _meta(swissprot.SOURCE, entry.accession, swissprot.LICENSE, name=entry.name)
    facts = {"catalytic_activities": entry.activities, "domains": entry.domains, "pfam": entry.pfam,
             "interpro": entry.interpro, "go_terms": entry.go_terms}
    return [protein_subject(f"swissprot:{entry.accession}", entry.sequence, meta, caption=entry.function or None,
                            coords=entry.coords, facts=facts)]


SOURCES.register(Source(
    "swissprot", "Swiss-Prot entries: FUNCTION text, catalytic activities, domains/motifs, GO molecular functions, "
    "optionally Cα structures", swissprot.LICENSE, SwissProtOptions,
    read=_swissprot_entries, where=lambda e: e.where, subjects=_swissprot_subject,
    provides=frozenset({"protein_sequence", "caption", "go_terms", "catalytic_activities", "domains"})))


# --- Biomedical text: annotated abstracts and question files (Mol-Instructions' text tasks) ---------------------

class PubTatorOptions(SourceOptions):
    path: ExistingPath  # BC5CDR-style PubTator file (CDR_TrainingSet.PubTator.txt) or BioC XML (….BioC.xml)
    format: Literal["auto", "pubtator", "bioc"] = "auto"  # auto: BioC XML for a .xml file, else PubTator
    types: tuple[str, ...] = pubtator.TYPES  # the mention types read; a mention of another type is reported


def _pubtator_documents(options: PubTatorOptions, reading: Reading) -> Iterator[Document]:
    bioc = options.format == "bioc" or (options.format == "auto" and options.path.lower().endswith(".xml"))
    read = pubtator.read_bioc if bioc else pubtator.read_pubtator
    return read(options.path, types=options.types, problems=reading.problems)


def _document_subject(source: str, license: str, document: Document) -> list[Subject]:
    """A document subject: no molecule or protein; its records are split by PMID (`meta.extra[DOCUMENT]`, across
    sources) and deduplicated by source and PMID."""
    meta = _meta(source, document.pmid, license, pmid=document.pmid, **{DOCUMENT: pmid_document(document.pmid)})
    return [Subject(f"{source}:{document.pmid}", Modalities(), meta, facts={"document": document})]


def _pubtator_subject(document: Document, options: PubTatorOptions) -> list[Subject]:
    return _document_subject(pubtator.SOURCE, pubtator.LICENSE, document)


SOURCES.register(Source(
    "pubtator", "BC5CDR-style abstracts with chemical/disease mentions and CID relations (PubTator or BioC XML)",
    pubtator.LICENSE, PubTatorOptions, read=_pubtator_documents, where=lambda d: d.where, subjects=_pubtator_subject,
    provides=frozenset({"document_text", "chemical_mentions", "chemical_disease_relations"})))


class ChemProtOptions(SourceOptions):
    path: ExistingPath  # a ChemProt directory (chemprot_training/: *_abstracts, *_entities, *_relations .tsv)


def _chemprot_subject(document: Document, options: ChemProtOptions) -> list[Subject]:
    return _document_subject(chemprot.SOURCE, chemprot.LICENSE, document)


SOURCES.register(Source(
    "chemprot", "ChemProt (BioCreative VI) abstracts with chemical–protein relations of the evaluated groups",
    chemprot.LICENSE, ChemProtOptions,
    read=lambda o, r: chemprot.read_chemprot(o.path, problems=r.problems, counts=r.counts),
    where=lambda d: d.where, subjects=_chemprot_subject,
    provides=frozenset({"document_text", "chemical_protein_relations"})))


class QAOptions(SourceOptions):
    path: ExistingPath  # questions as JSON, JSON lines, CSV or TSV (see data.sources.qa_files), or PubMedQA's JSON
    license: str = qa_files.LICENSE  # the licence of the file's dataset, written into every record


def _qa_subject(item: qa_files.QAItem, options: QAOptions) -> list[Subject]:
    """A question subject. Its key holds the file's hash and the row id (ids are unique within a file only); its
    source id is its PMID, else its content hash, so QC's duplicate rule (the question's content hash per subject,
    `Task.question`) drops the same question under another id. Split by `meta.extra[DOCUMENT]`: its PMID (one
    abstract, one split), else its content hash (one question, one split)."""
    content = item.content_key()
    extra = {"question_hash": content, DOCUMENT: item.document(), **({"pmid": item.pmid} if item.pmid else {})}
    return [Subject(f"qa:{item.file}:{item.id}" if item.file else f"qa:{item.id}", Modalities(),
                    _meta(qa_files.SOURCE, item.pmid or content, options.license, **extra), facts={"qa": item})]


SOURCES.register(Source(
    "qa", "multiple-choice, true/false and open questions from JSON, JSON lines or CSV files (PubMedQA's too)",
    qa_files.LICENSE, QAOptions, read=lambda o, r: qa_files.read_qa(o.path, problems=r.problems),
    where=lambda item: item.where, subjects=_qa_subject, provides=frozenset({"qa"})))
