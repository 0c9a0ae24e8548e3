"""A Vision Transformer reading molecule images (ChEBI-20-MM's image modality), as per-patch states.

transformers' `ViTModel` (no torchvision): a local ViT directory (`model`), or a fresh model of the
configured size. A record's image is the PNG at `modalities.image`, else the RDKit depiction of its
SMILES (`chem.depiction`, 224 × 224); pixels are normalised with ImageNet's mean and deviation, as
SLM4Mol's transform does (its random rotation and colour jitter are not applied). Items keep the PNG
bytes (about 9 KB) and batches decode them, so a dataset's images are never all in memory as floats.
The states are the last layer's [CLS] and patch tokens: 50 soft tokens at patch 32 on 224 pixels.
Items are counted for that default geometry: a per-position projector (linear, MLP) on a ViT of
another patch size or resolution fails with the placeholder count it expected; a Q-Former reads any.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from molbridge.chem.depiction import SIZE, depict_png, pixels
from molbridge.errors import EncoderInputError, InvalidMolecule
from molbridge.records import Record

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


class ImageInputError(EncoderInputError):
    """A record whose image cannot be read or drawn; names the record and the reason."""


@dataclass(frozen=True)
class ViTImageConfig:
    model: str | None = None  # a local ViT directory; None: a fresh model of the sizes below
    image_size: int = SIZE
    patch: int = 32
    layers: int = 4
    hidden: int = 128
    heads: int = 4
    ffn: int = 256


class EncodedImage(NamedTuple):
    states: torch.Tensor  # (batch, 1 + patches, hidden)
    padding: torch.Tensor  # (batch, 1 + patches): every position is real


@dataclass(frozen=True)
class ImageItem:
    png: bytes
    positions: int  # [CLS] + patches


class ViTImageEncoder(nn.Module):
    def __init__(self, config: ViTImageConfig) -> None:
        super().__init__()
        from transformers import ViTConfig, ViTModel

        if config.model:
            self.vit = ViTModel.from_pretrained(config.model, add_pooling_layer=False)
        else:
            self.vit = ViTModel(ViTConfig(image_size=config.image_size, patch_size=config.patch,
                                          num_hidden_layers=config.layers, hidden_size=config.hidden,
                                          num_attention_heads=config.heads, intermediate_size=config.ffn,
                                          num_channels=3), add_pooling_layer=False)
        vit = self.vit.config  # a loaded model's sizes, whatever the settings said
        self.config = ViTImageConfig(config.model, _side(vit.image_size), _side(vit.patch_size),
                                     vit.num_hidden_layers, vit.hidden_size, vit.num_attention_heads,
                                     vit.intermediate_size)
        self.output_dim = vit.hidden_size

    def forward(self, pixel_values: torch.Tensor) -> EncodedImage:
        states = self.vit(pixel_values=pixel_values).last_hidden_state
        return EncodedImage(states, torch.zeros(states.shape[:2], dtype=torch.bool, device=states.device))


def _side(size: int | Sequence[int]) -> int:
    """A square size from ViT's config (an int, or a (height, width) pair of equal sides)."""
    if isinstance(size, int):
        return size
    height, width = size
    if height != width:
        raise ValueError(f"molecule images are square; this ViT takes {height} × {width}")
    return int(height)


def image_item(record: Record, seed: int = 0, max_atoms: int = 0, *, config: ViTImageConfig = ViTImageConfig()
               ) -> ImageItem:
    """The record's PNG (its `image` file, else its SMILES drawn); ImageInputError names what is missing."""
    positions = 1 + (config.image_size // config.patch) ** 2
    if record.modalities.image:
        path = Path(record.modalities.image)
        if not path.is_file():
            raise ImageInputError(record.id, f"image file {str(path)!r} not found")
        return ImageItem(path.read_bytes(), positions)
    if not record.modalities.smiles:
        raise ImageInputError(record.id, "no image and no SMILES to draw one from")
    try:
        return ImageItem(depict_png(record.modalities.smiles, config.image_size), positions)
    except InvalidMolecule as err:
        raise ImageInputError(record.id, f"cannot draw the molecule: {err}") from None


def collate_images(items: Sequence[ImageItem], size: int = SIZE) -> dict[str, torch.Tensor]:
    """PNG bytes → (batch, 3, size, size) normalised pixels; an image of another size is resized first."""
    from PIL import Image

    batch = []
    for item in items:
        image = pixels(item.png)
        if image.shape[:2] != (size, size):
            resized = Image.fromarray((image * 255).astype(np.uint8)).resize((size, size), Image.Resampling.BILINEAR)
            image = np.asarray(resized, dtype=np.float32) / 255.0
        batch.append(((image - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1))
    return {"pixel_values": torch.from_numpy(np.stack(batch))}
