"""The YAML config of `molbridge data build`, validated before any work starts.

Unknown keys, unknown source kinds or tasks, and bad split fractions are errors that name the
key, so a typo never silently builds a different dataset. `--set a.b=c` overrides are applied
to the parsed YAML before validation (`molbridge.config_files`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from molbridge.config_files import load_yaml_config
from molbridge.data.qc import QCConfig
from molbridge.data.splits import METHODS, check_fractions
from molbridge.errors import MolbridgeError

SOURCE_TASKS = {
    "qm9": ("property_prediction", "computed_property"),
    "moses": ("computed_property",),
    "chebi_classes": ("molecule_description", "molecule_design"),
    "chebi20": ("molecule_description", "molecule_design"),
    "b3db": ("smiles2iupac", "iupac2smiles", "smiles2selfies", "selfies2smiles", "smiles2inchi"),
    "uniprot_go": ("protein_function", "protein_description", "protein_design"),
    "swissprot": ("protein_description", "protein_design"),
}


class ConfigError(MolbridgeError, ValueError):
    """A build config that cannot be used; names the file and the offending key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClusterSettings(_Strict):
    """Protein clustering (MMseqs2, or the k-mer fallback) for redundancy removal and the cluster split."""

    min_seq_id: float = Field(default=0.5, gt=0, le=1)
    coverage: float = Field(default=0.8, gt=0, le=1)
    method: Literal["auto", "mmseqs2", "kmer"] = "auto"


class SourceConfig(_Strict):
    kind: Literal["qm9", "moses", "chebi_classes", "chebi20", "b3db", "uniprot_go", "swissprot", "import"]
    tasks: list[str] = Field(min_length=1)  # import: the record tasks to keep, or ["*"] for all
    path: str | None = None  # chebi20 and import: the file; others: an alternative data location
    format: Literal["mol_instructions", "moit3d", "sepit", "smolinstruct"] | None = None  # import only
    cluster: ClusterSettings | None = None  # uniprot_go only
    structures: str | None = None  # swissprot only: a directory of PDB/mmCIF files named by accession
    conformers: bool = False  # molecule sources without geometry: ETKDGv3 + MMFF94 per molecule
    quantum: Literal["qm9", "xtb"] = "qm9"  # qm9: HOMO/LUMO/gap Q&A from QM9's DFT, or GFN2-xTB on its geometry
    conformer_deadline_s: float = Field(default=30.0, gt=0)
    limit: int | None = Field(default=None, ge=1)  # first N source items

    @model_validator(mode="after")
    def _known_tasks(self) -> SourceConfig:
        if self.kind == "import":
            if not self.path or not self.format:
                raise ValueError("source 'import' needs 'path' and 'format' (mol_instructions, moit3d, sepit, smolinstruct)")
            return self
        if self.format is not None:
            raise ValueError(f"'format' applies to source 'import' only, not {self.kind!r}")
        if self.cluster is not None and self.kind != "uniprot_go":
            raise ValueError(f"'cluster' applies to protein sources (uniprot_go) only, not {self.kind!r}")
        unknown = [t for t in self.tasks if t not in SOURCE_TASKS[self.kind]]
        if unknown:
            raise ValueError(f"source {self.kind!r} has no task {unknown[0]!r}; it has {', '.join(SOURCE_TASKS[self.kind])}")
        if self.kind in ("chebi20", "swissprot") and not self.path:
            raise ValueError(f"source {self.kind!r} needs 'path' (a ChEBI-20 TSV / a Swiss-Prot .dat[.gz] file)")
        if self.conformers and self.kind not in ("moses", "chebi_classes", "chebi20", "b3db"):
            raise ValueError(f"'conformers' applies to molecule sources without geometry, not {self.kind!r}")
        if self.quantum != "qm9" and self.kind != "qm9":
            raise ValueError(f"'quantum' applies to source 'qm9' only, not {self.kind!r}")
        if self.structures is not None and self.kind != "swissprot":
            raise ValueError(f"'structures' applies to source 'swissprot' only, not {self.kind!r}")
        return self


class SplitSettings(_Strict):
    method: str = "random"
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0

    @model_validator(mode="after")
    def _check(self) -> SplitSettings:
        if self.method not in METHODS:
            raise ValueError(f"split method {self.method!r} unknown; expected one of {', '.join(METHODS)}")
        check_fractions(self.fractions)
        return self


class BuildConfig(_Strict):
    name: str
    description: str = ""
    chunk_size: int = Field(default=1000, ge=1)
    phrasings_dir: str | None = None  # paraphrased phrasing files (`molbridge data paraphrase`)
    sources: list[SourceConfig] = Field(min_length=1)
    qc: QCConfig = Field(default_factory=QCConfig)  # validated from the YAML mapping, unknown keys refused
    split: SplitSettings = Field(default_factory=SplitSettings)

    def fingerprint(self) -> str:
        """A hash of everything that changes the output: a resumed build must have the same one."""
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:16]


def load_config(path: str | Path, overrides: list[str] = ()) -> BuildConfig:
    """Read, override and validate a build config."""
    return load_yaml_config(path, BuildConfig, ConfigError, overrides)
