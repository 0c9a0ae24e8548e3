"""The image encoder (ChEBI-20-MM's image modality): records become depictions or their own image files, batches
normalised pixels, a ViT per-patch states; bad records are named; a saved ViT loads; and an image run trains and
answers through the multimodal wrapper like any other encoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from molbridge.chem.depiction import depict_png
from molbridge.models.encoders import ENCODERS
from molbridge.models.encoders.vit import IMAGENET_MEAN, IMAGENET_STD, ImageInputError, ViTImageConfig, collate_images
from molbridge.records import make_record
from tests.tiny_models import train_and_answer

TINY = {"layers": 1, "hidden": 16, "heads": 2, "ffn": 32}


def record(rid: str, smiles: str | None = None, image: str | None = None):
    return make_record(id=rid, task="mol2text", instruction="", input=smiles or "", output="A molecule.",
                       modalities={"smiles": smiles, "image": image}, meta={"source": "test"})


def test_records_become_normalised_pixels_and_per_patch_states() -> None:
    kind = ENCODERS["vit"]
    items = [kind.featurize(record("a", "CCO"), 0), kind.featurize(record("b", "c1ccccc1O"), 0)]
    assert items[0].png == depict_png("CCO") and kind.length(items[0]) == 50  # [CLS] + 7 × 7 patches of 32
    batch = kind.collate(items)["pixel_values"]
    assert batch.shape == (2, 3, 224, 224)
    white = (1.0 - IMAGENET_MEAN) / IMAGENET_STD
    np.testing.assert_allclose(batch[0, :, 0, 0].numpy(), white, rtol=1e-6)  # the background corner
    torch.manual_seed(0)
    encoder = kind.make(TINY).eval()
    states, padding = encoder(pixel_values=batch)
    assert states.shape == (2, 50, 16) and not padding.any() and encoder.output_dim == 16


def test_an_image_file_is_read_and_resized(tmp_path) -> None:
    path = tmp_path / "CID_1.png"
    path.write_bytes(depict_png("CC(=O)O", 300))
    item = ENCODERS["vit"].featurize(record("c", "CCO", image=str(path)), 0)
    assert item.png == path.read_bytes()  # the record's own image wins over drawing its SMILES
    assert collate_images([item])["pixel_values"].shape == (1, 3, 224, 224)


@pytest.mark.parametrize("bad, reason", [
    (record("x1"), "no image and no SMILES"),
    (record("x2", "C1CC"), "cannot draw the molecule"),
    (record("x3", "CCO", image="/no/such.png"), "not found"),
])
def test_records_without_a_readable_image_are_named(bad, reason) -> None:
    with pytest.raises(ImageInputError, match=reason) as caught:
        ENCODERS["vit"].featurize(bad, 0)
    assert caught.value.record_id == bad.id


def test_a_saved_vit_directory_loads_with_its_own_sizes(tmp_path) -> None:
    from transformers import ViTConfig, ViTModel

    ViTModel(ViTConfig(image_size=224, patch_size=16, num_hidden_layers=1, hidden_size=24, num_attention_heads=2,
                       intermediate_size=48), add_pooling_layer=False).save_pretrained(tmp_path / "vit")
    encoder = ENCODERS["vit"].make({"model": str(tmp_path / "vit")})
    assert encoder.config == ViTImageConfig(str(tmp_path / "vit"), 224, 16, 1, 24, 2, 48) and encoder.output_dim == 24
    states, _ = encoder(pixel_values=torch.zeros(1, 3, 224, 224))
    assert states.shape == (1, 197, 24)


def test_an_image_run_trains_and_answers_through_the_multimodal_wrapper(tmp_path, multimodal_dataset,
                                                                         tiny_llama) -> None:
    rows = train_and_answer(tmp_path, tiny_llama, multimodal_dataset, {
        "encoder": "vit", "encoder_settings": TINY, "projector": "qformer",
        "projector_settings": {"queries": 2, "hidden_size": 16, "layers": 1, "heads": 2, "intermediate_size": 32}})
    assert rows and all(row["task"] == "mol2text" for row in rows)
