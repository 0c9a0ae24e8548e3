"""What a task and a source are: typed, declarative specs that every layer dispatches through.

A `Task` says where its input and answer sit in a record (`Field`s), which modalities it reads,
what kind of answer it expects (extraction, validity, decoding length), how it is prompted, how
it is scored (a scorer family of the engine and a convention), which retriever gives its
copy-the-nearest-answer baseline, what must not be divided between splits, and, for tasks
molbridge builds itself, how a record is written from a source's subject (a molecule or a
protein with what is known about it). A `Source` says how its items are read, what its
subjects carry (so which tasks it can feed), its licence and its config options. Lower layers
resolve the names a spec holds (scorer family, retriever, split group); no code outside this
package branches on a task or source name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic import Field as Setting

from molbridge.records import Modalities, Record, make_record
from molbridge.tasks.answers import AnswerKind

RECORD_FIELDS = ("instruction", "input", "output")
# the convention a scorer family uses unless a task declares its own: captions by whitespace tokens (no tokenizer
# files needed), molecules by MolT5's rules with an empty answer invalid
FAMILY_CONVENTIONS = {"text": "whitespace", "molecule": "molt5-strict"}
MODALITY_FIELDS = ("smiles", "selfies", "inchi", "iupac", "caption", "protein_sequence")


@dataclass(frozen=True)
class Field:
    """A text a task reads from a record: `instruction`, `input`, `output` or a text modality.

    `stored=True` gives the text as the source file stores it where that differs (ChEBI-20 writes
    SMILES with doubled backslashes; `meta.extra["smiles_raw"]` keeps that form).
    """

    name: str

    def __post_init__(self) -> None:
        if self.name not in RECORD_FIELDS + MODALITY_FIELDS:
            known = ", ".join(RECORD_FIELDS + MODALITY_FIELDS)
            raise ValueError(f"unknown field {self.name!r}; expected one of {known}")

    def get(self, record: Record, *, stored: bool = False) -> str:
        if self.name in RECORD_FIELDS:
            return getattr(record, self.name)
        if stored and self.name == "smiles" and record.meta.extra.get("smiles_raw"):
            return str(record.meta.extra["smiles_raw"])
        return getattr(record.modalities, self.name) or ""


@dataclass(frozen=True)
class Template:
    """A task's wording for retrieval-augmented prompts (ICMA's): an example line, its label, the final ask."""

    ask: str  # "Generate a caption for the molecule: {source}"
    label: str  # "Caption"
    final: str  # "Based on the above examples, ... {source}."

    def example(self, source: str, target: str) -> str:
        return f"{self.ask.format(source=source)}\n{self.label}: {target}"

    def open_example(self, source: str) -> str:
        return f"{self.ask.format(source=source)}\n{self.label}:"


# the wording of retrieved examples for a task that declares no template of its own: each example's input and
# answer, then the query's whole request (the instruction says what is asked; the examples show answers to it)
SOLVED_EXAMPLES = Template("Input: {source}", "Answer", "As in the examples above:\n\n{source}")


@dataclass(frozen=True)
class Scorer:
    """How the engine scores a task: a scorer family (None: the answer kind's), its default convention,
    for numeric answers the 3D-MoLM plausibility window of each property, and for closed-set answers
    the labels an answer may take."""

    family: str | None = None
    convention: str | None = None  # None: the family's (FAMILY_CONVENTIONS)
    windows: Mapping[str, str] = field(default_factory=dict)  # property → eval.numeric.PLAUSIBILITY_WINDOWS name
    labels: tuple[str, ...] = ()  # closed-set answers (option letters, yes/no/maybe); (): yes and no


@dataclass(frozen=True)
class Subject:
    """One molecule or protein a source gives, with every representation and fact it knows about it.

    `key` prefixes the ids of the records built from it; `facts` holds source annotations a task
    may need (`quantum_hartree`, `quantum_ev`, `go_terms`, ...); `mol` is the parsed molecule, so
    that tasks do not parse it again; `stored` is the molecule read back from `modalities.smiles` (what
    a reader of the records gets), which a build's QC, splits and card statistics use instead of a parse.
    """

    key: str
    modalities: Modalities
    meta: Mapping[str, Any]  # source, source_id, license, extra
    facts: Mapping[str, Any] = field(default_factory=dict)
    mol: Any = None
    stored: Any = None


@dataclass(frozen=True)
class Draft:
    """A record a task writes from a subject: the texts, and a variant (e.g. the property) when a task
    writes several records per subject."""

    instruction: str
    input: str
    output: str
    variant: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


Builder = Callable[[Subject, str], list[Draft]]  # (subject, record-id prefix) → drafts


@dataclass(frozen=True)
class Task:
    """Everything molbridge needs to know about one task (see the module docstring)."""

    name: str
    description: str
    answer: AnswerKind
    source: Field = Field("input")  # the input as the model reads it (and what text retrievers search)
    target: Field = Field("output")  # the answer to learn and to score
    consumes: tuple[str, ...] = ()  # modalities the input carries (smiles, caption, protein_sequence, conformer, ...)
    prompt: Literal["instruction", "template"] = "instruction"  # instruction + input, or `template.ask`
    template: Template | None = None
    query: Literal["molecule", "text", "protein"] = "text"  # what retrieval compares
    query_molecule: Callable[[Record], str] | None = None  # the SMILES molecule retrieval compares, where it is
    # not the record's own molecule (a forward reaction is searched by its reactants, not by its product)
    copy: str | None = None  # retriever of the copy baseline (None: no baseline; its rows score invalid)
    copy_answer: Callable[[Record, Record], str] | None = None  # (query, nearest pool record) → the copied
    # answer, where the neighbour's own target is not one (a yes/no question about another term); None: its target
    scorer: Scorer = Scorer()
    split_group: Literal["molecule", "protein", "document"] = "molecule"  # kept on one side of every split
    # ("document": `meta.extra["document"]`, a PMID or a question's content hash, whichever source set it)
    variant: str | None = None  # meta.extra key that splits the records into scored groups ("property")
    question: str | None = None  # meta.extra key that tells apart one subject's questions scored together ("go_id")
    build: Builder | None = None  # None: records only come from files (imported)
    needs: frozenset[str] = frozenset()  # what a subject must provide for `build`
    phrasings: str | None = None  # the phrasing family file (`tasks/phrasings/{name}.json`)
    molt5: Literal["mol2text", "text2mol"] | None = None  # the MolT5 TSV layout its predictions are also written in
    max_new_tokens: int | None = None  # None: the answer kind's

    def __post_init__(self) -> None:
        if self.prompt == "template" and self.template is None:
            raise ValueError(f"task {self.name!r}: prompt 'template' needs a template")
        if self.build is not None and not self.needs:
            raise ValueError(f"task {self.name!r}: a buildable task must say what its subjects need")

    @property
    def family(self) -> str:
        return self.scorer.family or self.answer.family

    @property
    def convention(self) -> str | None:
        """The scoring convention of this task's answers (None: the family has no conventions)."""
        return self.scorer.convention or FAMILY_CONVENTIONS.get(self.family)

    def molecule(self, record: Record) -> str:
        """The SMILES a molecule retriever compares for `record` ("" when it has none)."""
        return self.query_molecule(record) if self.query_molecule else record.modalities.smiles or ""

    @property
    def decoding_length(self) -> int:
        return self.max_new_tokens or self.answer.max_new_tokens

    @property
    def examples_template(self) -> Template:
        """How retrieved examples are written into this task's prompts: its own template, else SOLVED_EXAMPLES."""
        return self.template or SOLVED_EXAMPLES

    def example_input(self, record: Record) -> str:
        """A retrieved example's input as its prompt shows it (its request when the input field is empty)."""
        return self.source.get(record) or self.request(record)

    def in_context_query(self, record: Record) -> str:
        """What the final ask of a prompt with retrieved examples holds: the input in the task's own template,
        else the whole request."""
        return self.source.get(record) if self.template else self.request(record)

    def request(self, record: Record) -> str:
        """The user's request for one record, without retrieved examples."""
        if self.prompt == "template":
            assert self.template is not None
            return self.template.ask.format(source=self.source.get(record))
        return f"{record.instruction}\n\n{record.input}" if record.input else record.instruction

    def group(self, record: Record) -> str:
        """The scored group of a record: the task, or `task:variant` (e.g. `computed_property:homo`)."""
        value = record.meta.extra.get(self.variant) if self.variant else None
        return f"{self.name}:{value}" if value is not None else self.name

    def records(self, subject: Subject) -> list[Record]:
        """This task's records about `subject` (raises RecordError for one the schema refuses)."""
        if self.build is None:
            raise ValueError(f"task {self.name!r} is not built by molbridge (its records come from files)")
        prefix = f"{subject.key}:{self.name}"
        out = []
        for draft in self.build(subject, prefix):
            meta = dict(subject.meta)
            meta["extra"] = {**meta.get("extra", {}), **draft.extra}
            out.append(make_record(id=f"{prefix}:{draft.variant}" if draft.variant else prefix, task=self.name,
                                   instruction=draft.instruction, input=draft.input, output=draft.output,
                                   modalities=subject.modalities, meta=meta))
        return out


class SourceOptions(BaseModel):
    """The options every source entry of a build config has; a source subclasses it with its own.

    Unknown keys are refused, so a typo never silently builds a different dataset.
    """

    model_config = ConfigDict(extra="forbid")

    kind: str
    tasks: list[str] = Setting(min_length=1)  # built sources: registered tasks; imported: record tasks, or ["*"]
    limit: int | None = Setting(default=None, ge=1)  # first N source items
    conformers: bool = False  # molecules without geometry: ETKDGv3 + MMFF94 per molecule
    conformer_deadline_s: float = Setting(default=30.0, gt=0)

    def joins(self) -> frozenset[str]:
        """The modalities an imported source's records gain from a table this entry names (none here)."""
        return frozenset()


@dataclass(frozen=True)
class Source:
    """A source of records: how its items are read and, for built sources, how an item becomes subjects.

    `read(options, reading)` yields items in a fixed order (a resumed build skips the ones done) and
    reports unreadable rows through `reading`; `subjects(item, options)` turns an item into subjects
    for the registered tasks (raising InvalidMolecule / RecordError for a bad item); an imported
    source has no `subjects`: its items are records already.
    """

    name: str  # the `kind` of a build config's source entry
    description: str
    license: str
    options: type[SourceOptions]
    read: Callable[[Any, Any], Iterable[Any]]
    where: Callable[[Any], str]  # where an item comes from, for problem reports
    subjects: Callable[[Any, Any], list[Subject]] | None = None
    provides: frozenset[str] = frozenset()  # what its subjects carry: the tasks it feeds are those needing no more
    geometry: bool = False  # its molecules come with 3D coordinates of their own
    published_splits: bool = False  # its records carry the split their dataset published (`split.method: keep`)
    remote: str | None = None  # the `molbridge data fetch` name of its files, when it has one

    @property
    def imported(self) -> bool:
        return self.subjects is None
