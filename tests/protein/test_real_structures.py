"""Real protein structures, from the PDB files MDAnalysisTests ships (E. coli adenylate kinase open and closed,
DSSP's gzipped single chains): Cα chains with the geometry of real backbones, Swiss-Prot entries joined to their
structure files (plain or gzipped) with mismatches named, and the structure bias reading them, unchanged by a
rotation of the protein."""

from __future__ import annotations

import gzip
import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from molbridge.data.sources.swissprot import read_swissprot
from molbridge.errors import FileFormatError
from molbridge.models.encoders.esm_structure import EsmStructureConfig, EsmStructureEncoder
from molbridge.protein.residue_tokens import residue_tokens
from molbridge.protein.structure import read_ca_chain
from molbridge.records import make_record
from tests.data.test_swissprot import entry

ADK = ("MRIILLGAPGAGKGTQAQFIMEKYGIPQISTGDMLRAAVKSGSELGKQAKDIMDAGKLVTDELVIALVKERIAQEDCRNGFLLDGFPRTIPQADAMKEAGINVDYVLEFDV"
       "PDELIVDRIVGRRVHAPSGRVYHVKFNPPKVEGKDDVTGEELTTRKDDQEETVRKRLVEYHQMTAPLIGYYSKEAEAGNTKYAKVDGTKPVAEVRADLEKILG")


@pytest.fixture(scope="module")
def data() -> Path:
    spec = importlib.util.find_spec("MDAnalysisTests")  # located, not imported (it would import MDAnalysis)
    assert spec is not None and spec.submodule_search_locations, \
        "MDAnalysisTests is a test dependency: scripts/setup.sh installs it"
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def steps(coords) -> np.ndarray:
    xyz = np.asarray(coords)
    return np.linalg.norm(np.diff(xyz, axis=0), axis=1)


def test_adenylate_kinase_reads_as_its_sequence_with_a_real_backbone(data) -> None:
    sequence, coords = read_ca_chain(data / "adk_open.pdb")
    assert sequence == ADK and len(coords) == 214  # UniProt P69441
    assert np.mean(np.abs(steps(coords) - 3.8) < 0.1) > 0.97  # consecutive trans Cα atoms sit 3.8 Å apart
    closed_sequence, closed = read_ca_chain(data / "adk_closed.pdb")
    assert closed_sequence == ADK

    def gyration(xyz) -> float:
        xyz = np.asarray(xyz)
        return float(np.sqrt(((xyz - xyz.mean(0)) ** 2).sum(1).mean()))

    assert gyration(closed) < gyration(coords) - 0.5  # the lid closes over the active site


def test_gzipped_chains_and_a_chain_the_file_does_not_have(data) -> None:
    chains = sorted((data / "dssp").glob("*A.pdb.gz"))[:5]
    assert len(chains) == 5
    for path in chains:
        sequence, coords = read_ca_chain(path)
        assert len(sequence) == len(coords) > 20 and abs(np.median(steps(coords)) - 3.8) < 0.05, path.name
    with pytest.raises(FileFormatError, match="no amino-acid chain 'Z'"):
        read_ca_chain(data / "adk_open.pdb", chain="Z")


def test_swissprot_entries_join_gzipped_structures_and_name_a_mismatch(data, tmp_path) -> None:
    structures = tmp_path / "structures"
    structures.mkdir()
    with (data / "adk_open.pdb").open("rb") as plain, gzip.open(structures / "AF-P69441-F1-model_v4.pdb.gz",
                                                                  "wb") as packed:
        shutil.copyfileobj(plain, packed)
    shutil.copy(data / "adk_closed.pdb", structures / "P00002.pdb")
    mutant = ADK[:100] + "W" + ADK[101:]
    (tmp_path / "sprot.dat").write_text(entry("P69441", ADK, "Catalyzes the reversible transfer of a phosphate")
                                        + entry("P00002", mutant, "A point mutant"))
    problems: list = []
    entries = list(read_swissprot(tmp_path / "sprot.dat", structures=structures, problems=problems))
    assert [len(e.coords or []) for e in entries] == [214, 0]
    assert [p.reason for p in problems] == ["chain sequence (214 residues) differs from P00002's"]


def test_the_structure_bias_reads_a_real_protein_and_ignores_its_orientation(data) -> None:
    sequence, coords = read_ca_chain(data / "adk_open.pdb")
    torch.manual_seed(0)
    encoder = EsmStructureEncoder(EsmStructureConfig(layers=2, hidden=16, heads=2, ffn=32, kernels=8)).eval()
    with torch.no_grad():  # a bias as strong as a trained one (a fresh one shifts scores by ~0.05)
        encoder.bias.project[-1].weight.mul_(50)

    def states(positions) -> torch.Tensor:
        record = make_record(id="P69441", task="protein_description", instruction="Describe it.", input="",
                             output="x", modalities={"protein_sequence": sequence, "protein_coords": positions},
                             meta={"source": "test"})
        tokens = residue_tokens(record)
        with torch.no_grad():
            return encoder(torch.from_numpy(tokens.tokens)[None], torch.from_numpy(tokens.coords)[None],
                           torch.from_numpy(tokens.present)[None]).states[0]

    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))
    rotated = (np.asarray(coords) @ q.T + 40.0).tolist()
    with_structure = states(coords)
    torch.testing.assert_close(states(rotated), with_structure, atol=1e-6, rtol=1e-5)
    change = (states(None) - with_structure).abs().max() / with_structure.abs().max()
    assert change > 0.01, change  # the structure changes what the states of layer −2 (layer 1) read
