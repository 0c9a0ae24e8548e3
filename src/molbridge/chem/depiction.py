"""Molecule images for image-input tasks (ChEBI-20-MM's image modality): RDKit depictions, 224 × 224 RGB.

ChEBI-20-MM's images are PubChem's PNGs, which are not available offline; ours are RDKit's 2D
depictions (CoordGen-free default layout, Cairo renderer) at the size SLM4Mol resizes to, so a model
trained on one style may read the other worse: results on our images are not results on theirs.
One molecule always gives the same bytes, however its SMILES is written (drawn from the canonical
SMILES; tested), so image datasets and caches are reproducible.
"""

from __future__ import annotations

import io

import numpy as np

from molbridge.chem.parse import to_mol

SIZE = 224


def _canonical(mol):
    """The molecule in canonical atom order: the drawing follows atom order, so one molecule always looks the same."""
    from rdkit import Chem

    return Chem.MolFromSmiles(Chem.MolToSmiles(mol))


def depict_png(smiles: str, size: int = SIZE) -> bytes:
    """PNG bytes of the molecule drawn on a white `size` × `size` canvas; InvalidMolecule names what is wrong."""
    from rdkit.Chem.Draw import rdMolDraw2D

    drawer = rdMolDraw2D.MolDraw2DCairo(size, size)
    drawer.DrawMolecule(_canonical(to_mol(smiles)))
    drawer.FinishDrawing()
    return bytes(drawer.GetDrawingText())


def depict_svg(mol, width: int = 300, height: int = 300) -> str:
    """An SVG document of a sanitised molecule (for web pages and HTML reports), drawn as `depict_png` draws."""
    from rdkit.Chem.Draw import rdMolDraw2D

    drawer = rdMolDraw2D.MolDraw2DSVG(width, height)
    drawer.DrawMolecule(_canonical(mol))
    drawer.FinishDrawing()
    return drawer.GetDrawingText()


def pixels(png: bytes) -> np.ndarray:
    """(height, width, 3) float32 RGB in [0, 1] of a PNG (what an image encoder reads)."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
