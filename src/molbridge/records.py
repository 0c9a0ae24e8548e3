"""The one record type of every molbridge dataset (DESIGN.md §3), with typed modality payloads.

A record is an instruction example (`instruction`, `input`, `output`; any may be empty for a
plain modality record such as a ChEBI-20 row) plus the molecule or protein it is about, in as
many modalities as the source gives, and where it came from. The text fields may hold the
placeholders `<mol>` / `<protein>` that a multimodal model fills with soft tokens.

Why pydantic: records cross process and file boundaries (Parquet, JSON, Dask workers), so each
field is validated once at construction with an error that names the record and the field,
and `model_dump` / `model_validate` give a lossless dict form. `meta.extra` keeps whatever a
source format has beyond the schema, so importers and exporters round-trip without loss.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from molbridge.errors import MolbridgeError

PLACEHOLDERS = ("<mol>", "<protein>")
AMINO_ACIDS = frozenset("ACDEFGHIKLMNPQRSTVWYBXZUO")  # the 20, ambiguity codes B/X/Z, selenocysteine, pyrrolysine
Point = tuple[float, float, float]


class RecordError(MolbridgeError, ValueError):
    """A record that does not fit the schema; names the record and every offending field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Conformer(_Strict):
    """3D coordinates in ångström, one row per atom, with the element symbols in the same order."""

    atoms: list[str]
    coords: list[Point]
    energy: float | None = None  # force-field or quantum energy of this geometry, when known
    method: str | None = None  # e.g. "ETKDGv3+MMFF94", "B3LYP/6-31G*"

    @model_validator(mode="after")
    def _same_length(self) -> Conformer:
        if len(self.atoms) != len(self.coords):
            raise ValueError(f"{len(self.atoms)} atoms but {len(self.coords)} coordinate rows")
        if not self.atoms:
            raise ValueError("a conformer needs at least one atom")
        return self


class Modalities(_Strict):
    """The molecule or protein of a record, in every representation the source provides."""

    smiles: str | None = None
    selfies: str | None = None
    inchi: str | None = None
    iupac: str | None = None
    caption: str | None = None
    protein_sequence: str | None = None
    conformer: Conformer | None = None
    protein_coords: list[Point] | None = None  # one Cα position per residue
    image: str | None = None  # path or URL of a depiction

    @field_validator("protein_sequence")
    @classmethod
    def _amino_acids(cls, value: str | None) -> str | None:
        if value is not None:
            bad = sorted(set(value) - AMINO_ACIDS)
            if bad or not value:
                raise ValueError(f"not an amino-acid sequence (letters {''.join(bad)!r})" if bad else "empty sequence")
        return value

    @model_validator(mode="after")
    def _coords_per_residue(self) -> Modalities:
        if self.protein_coords is not None and (self.protein_sequence is None
                                                or len(self.protein_coords) != len(self.protein_sequence)):
            n = len(self.protein_sequence or "")
            raise ValueError(f"{len(self.protein_coords)} residue coordinates for a sequence of {n} residues")
        return self


class Meta(_Strict):
    """Provenance: source and its id, split, licence; `extra` holds source fields beyond the schema."""

    source: str
    source_id: str | None = None
    split: str | None = None
    license: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


class Record(_Strict):
    """One example: an instruction with its input and output, the modalities, the provenance."""

    id: str = Field(min_length=1)
    task: str = Field(min_length=1)
    instruction: str = ""
    input: str = ""
    output: str = ""
    modalities: Modalities = Field(default_factory=Modalities)
    meta: Meta


def make_record(**fields: Any) -> Record:
    """Validate `fields` into a `Record`; a schema violation raises `RecordError` naming the record."""
    try:
        return Record.model_validate(fields)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}" for e in err.errors())
        raise RecordError(f"record {fields.get('id', '?')!r}: {problems}") from None
