"""The API's request and response bodies (pydantic): what the OpenAPI page documents and what is validated."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from molbridge.serve.molecule import MoleculeView, Notation


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    error: str  # the error's type, e.g. InvalidMolecule, FileFormatError, ValidationError
    detail: str  # the reason, naming the field, record or line


class MoleculeRequest(_Body):
    text: str = Field(min_length=1, max_length=4000, examples=["CC(=O)Oc1ccccc1C(=O)O"])
    notation: Notation = "auto"  # auto: InChI by prefix, SELFIES by its tokens, else SMILES; names: "name"
    depiction_size: int = Field(default=300, ge=64, le=1000)


MoleculeResponse = MoleculeView  # one definition: what `molecule.view` returns is the response


class Pair(_Body):
    reference: str
    prediction: str | None  # null: no answer (scored invalid)


class ScorePairsRequest(_Body):
    task: str = Field(examples=["text2mol"])
    pairs: list[Pair] = Field(min_length=1)
    convention: str = "molt5"
    fcd: bool = False  # molecule answers: also FCD (slow: answered as a job)
    bootstrap: int | None = Field(default=None, ge=0, le=10_000)


class ScoreForm(_Body):
    """The form fields beside an uploaded prediction file."""

    task: str = Field(min_length=1)
    format: str = "molt5"  # molt5 | molregpt | jsonl | csv
    convention: str = "molt5"
    fcd: bool = False
    bootstrap: int | None = Field(default=None, ge=0, le=10_000)


class ScoreResponse(BaseModel):
    report: dict[str, Any]  # the engine's JSON report (as `molbridge eval --json`)


class JobResponse(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "failed"]
    report: dict[str, Any] | None = None
    error: str | None = None
    detail: str | None = None


class SimilarRequest(_Body):
    index: str
    query: str = Field(min_length=1, max_length=4000)  # a molecule (fingerprint index) or text (BM25, dense)
    k: int = Field(default=10, ge=1)


class Neighbour(BaseModel):
    id: str
    score: float


class SimilarResponse(BaseModel):
    index: str
    kind: str
    neighbours: list[Neighbour]


class GenerateRequest(_Body):
    run: str
    task: str
    inputs: list[str] = Field(min_length=1)
    instruction: str | None = None  # instruction-prompted tasks: default, the run's first training instruction
    max_new_tokens: int | None = Field(default=None, ge=1)  # default: the task's answer budget


class Answer(BaseModel):
    input: str
    answer: str
    valid: bool  # the answer parses as its kind (e.g. a valid molecule)
    raw: str


class GenerateResponse(BaseModel):
    run: str
    task: str
    model: str  # identity of the weights that answered
    answers: list[Answer]


class RunInfo(BaseModel):
    name: str
    task: str  # instructions | sft | icma
    tasks: list[str]
    model: str
    multimodal: str | None  # the encoder kind of a 3D-MoLM / SEPIT run


class IndexInfo(BaseModel):
    name: str
    kind: str
    query: str
    size: int


class ScoringInfo(BaseModel):
    tasks: list[str]  # tasks whose prediction files the engine scores
    conventions: list[str]
    formats: list[str]


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    runs: int
    indexes: int
