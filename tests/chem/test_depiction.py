"""Depictions for the image modality: 224 × 224 RGB, the same bytes every time, different molecules drawn
differently, an unreadable SMILES named."""

from __future__ import annotations

import hashlib

import pytest

from molbridge.chem.depiction import depict_png, pixels
from molbridge.chem.parse import InvalidMolecule

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"


def test_depictions_are_deterministic_rgb_images_of_the_molecule() -> None:
    first, again = depict_png(ASPIRIN), depict_png("O=C(O)c1ccccc1OC(C)=O")  # the same molecule written otherwise
    assert first.startswith(b"\x89PNG") and first == depict_png(ASPIRIN)
    assert hashlib.sha256(first).digest() == hashlib.sha256(again).digest()  # drawn from the canonical molecule
    image = pixels(first)
    assert image.shape == (224, 224, 3) and image.dtype.name == "float32"
    assert image.max() == 1.0 and image.min() < 0.5  # white canvas, dark bonds
    assert (image[0, 0] == 1.0).all()  # the corner is background
    assert depict_png("c1ccccc1") != first


def test_an_unreadable_smiles_is_named() -> None:
    with pytest.raises(InvalidMolecule):
        depict_png("C1CC")


def test_svg_depictions_follow_the_canonical_molecule() -> None:
    from molbridge.chem.depiction import depict_svg
    from molbridge.chem.parse import to_mol

    svg = depict_svg(to_mol(ASPIRIN), 200, 150)
    assert svg == depict_svg(to_mol("O=C(O)c1ccccc1OC(C)=O"), 200, 150) and "width='200px'" in svg
    assert svg != depict_svg(to_mol("c1ccccc1"), 200, 150)
