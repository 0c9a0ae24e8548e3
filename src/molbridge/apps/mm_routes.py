"""ChEBI-20-MM's grid as registrations: which registered task answers each (input modality, output) pair, which
models can read that input, and each output's headline metric (the modality matrix's cell).

String inputs (SMILES, SELFIES, InChI, IUPAC name, caption) are text in the prompt. Structure inputs (2D graph,
image, 3D conformer) reach the LLM through the encoder registered for that modality, and the molecule's text is
taken out of the prompt, so a structure cell never reads the molecule as a string. A new pair, output or model is a
row here, not a branch in the runner.
"""

from __future__ import annotations

from dataclasses import dataclass

from molbridge.errors import MolbridgeError

TEXT_INPUTS = ("smiles", "selfies", "inchi", "iupac", "caption")
STRUCTURE_INPUTS = ("graph", "image", "conformer")
INPUTS = TEXT_INPUTS + STRUCTURE_INPUTS


@dataclass(frozen=True)
class Output:
    """An output column: the engine metric the matrix reads from each scored group, and which way is better."""

    name: str
    metric: str
    higher_better: bool = True


@dataclass(frozen=True)
class Route:
    """How a cell of (input, output) is made: the registered task whose records it answers, and the string
    modality written as each record's input when it is not the task's own (properties from SELFIES, ...)."""

    input: str
    output: str
    task: str
    shows: str | None = None
    ranks: str | None = None  # the retrieval column its generated answers are ranked into

    @property
    def structure(self) -> bool:
        return self.input in STRUCTURE_INPUTS


# Retrieval columns are scored from the answers of generating routes (`Route.ranks`): each generated answer ranks
# every test reference (BM25 over captions, Morgan Tanimoto over molecules) — see `apps.mm_cells`.
OUTPUTS = {o.name: o for o in (
    Output("caption", "bleu4"), Output("iupac", "bleu4"), Output("smiles", "morgan_fts"),
    Output("selfies", "morgan_fts"), Output("inchi", "morgan_fts"), Output("polararea", "mae", higher_better=False),
    Output("xlogp", "mae", higher_better=False), Output("mol2text_retrieval", "mrr"),
    Output("text2mol_retrieval", "mrr"),
)}
GRID_OUTPUTS = ("caption", "smiles", "selfies", "inchi", "iupac", "property")  # what a grid config's `outputs` names

_CAPTION_TASKS = {"smiles": "molecule_description", "selfies": "selfies2caption", "inchi": "inchi2caption",
                  "iupac": "iupac2caption"}
ROUTES: dict[tuple[str, str], Route] = {(r.input, r.output): r for r in (
    *(Route(source, "caption", task, ranks="mol2text_retrieval") for source, task in _CAPTION_TASKS.items()),
    *(Route(source, "caption", "molecule_description", ranks="mol2text_retrieval") for source in STRUCTURE_INPUTS),
    Route("caption", "smiles", "molecule_design", ranks="text2mol_retrieval"),
    Route("caption", "selfies", "caption2selfies"),
    Route("caption", "inchi", "caption2inchi"), Route("iupac", "smiles", "iupac2smiles"),
    Route("image", "smiles", "image2smiles"), Route("smiles", "iupac", "smiles2iupac"),
    Route("smiles", "property", "pubchem_property"),
    *(Route(source, "property", "pubchem_property", shows=source) for source in ("selfies", "inchi", "iupac")),
    *(Route(source, "property", "pubchem_property") for source in STRUCTURE_INPUTS),
)}


@dataclass(frozen=True)
class ModelKind:
    """A model family of the grid and the routes it can run."""

    name: str
    description: str
    text: bool  # reads string inputs
    structure: bool  # reads structure inputs through an encoder
    only: frozenset[tuple[str, str]] | None = None  # the only routes it runs (a rule-based tool)

    def runs(self, route: Route) -> bool:
        if self.only is not None:
            return (route.input, route.output) in self.only
        return self.structure if route.structure else self.text


MODELS = {m.name: m for m in (
    ModelKind("llm", "a causal LM with LoRA; structure inputs through their encoder and an MLP projector", True, True),
    ModelKind("t5", "a T5 encoder-decoder trained fully (a local directory, or a small one from scratch)", True, False),
    ModelKind("osra", "OSRA, the rule-based image → SMILES reader (Debian `osra`)", False, True,
              only=frozenset({("image", "smiles")})),
)}


class GridSpecError(MolbridgeError, ValueError):
    """A grid names an input, output or model the registrations do not know."""


def cells(outputs: list[str], inputs: list[str], models: list[str]) -> list[tuple[str, str, str]]:
    """Every (output, input, model) the registrations can run, in config order; unknown names are refused."""
    for name, known, what in ((outputs, GRID_OUTPUTS, "output"), (inputs, INPUTS, "input"), (models, MODELS, "model")):
        unknown = [n for n in name if n not in known]
        if unknown:
            raise GridSpecError(f"unknown {what}(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return [(output, source, model) for output in outputs for source in inputs for model in models
            if (route := ROUTES.get((source, output))) is not None and MODELS[model].runs(route)]


def cell_name(output: str, source: str, model: str) -> str:
    return f"{source}-to-{output}.{model}"
