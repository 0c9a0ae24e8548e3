"""Projectors: shapes, the Q-Former initialised from a real BERT checkpoint, pads never attended."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from molbridge.errors import MissingResourceError
from molbridge.models.projectors import (
    LinearProjector,
    MLPProjector,
    QFormerProjector,
    QFormerSettings,
    bert_to_qformer_keys,
    make_projector,
)


@pytest.fixture(scope="module")
def real_bert() -> Path:
    """rxnfp's pre-trained 12-layer, 256-wide BERT (installed by scripts/setup.sh)."""
    spec = importlib.util.find_spec("rxnfp")
    assert spec is not None and spec.submodule_search_locations, "rxnfp is installed by scripts/setup.sh"
    return Path(spec.submodule_search_locations[0]) / "models" / "transformers" / "bert_pretrained"


SMALL = QFormerSettings(queries=4, hidden_size=16, layers=2, heads=2, intermediate_size=32, vocab_size=30)


def test_linear_and_mlp_keep_one_token_per_position_and_the_pads():
    states, padding = torch.randn(2, 5, 8), torch.tensor([[False] * 5, [False] * 3 + [True] * 2])
    for projector in (LinearProjector(8, 12), MLPProjector(8, 12, hidden=20)):
        soft, mask = projector(states, padding)
        assert soft.shape == (2, 5, 12) and torch.equal(mask, padding) and projector.num_tokens is None


def test_qformer_gives_fixed_queries_and_ignores_pads():
    torch.manual_seed(0)
    projector = QFormerProjector(8, 12, SMALL).eval()
    states = torch.randn(2, 6, 8)
    padding = torch.tensor([[False] * 4 + [True] * 2, [False] * 6])
    soft, mask = projector(states, padding)
    assert soft.shape == (2, 4, 12) and not mask.any()
    changed = states.clone()
    changed[0, 4:] = 50.0  # what sits in a pad slot must not matter
    torch.testing.assert_close(projector(changed, padding)[0], soft)
    changed[0, 0] = 50.0  # a real atom must
    assert not torch.allclose(projector(changed, padding)[0][0], soft[0])


def test_qformer_from_a_real_bert_checkpoint_copies_every_layer_and_both_ffn_paths(real_bert):
    from transformers import BertModel

    projector = QFormerProjector(32, 48, QFormerSettings(queries=8, bert=str(real_bert)))
    bert = BertModel.from_pretrained(real_bert, add_pooling_layer=False).state_dict()
    config = projector.qformer.config
    assert (config.hidden_size, config.num_hidden_layers, config.vocab_size) == (256, 12, 591)
    own = projector.state_dict()
    for layer in (0, 7, 11):
        for bert_name, ours in ((f"encoder.layer.{layer}.attention.self.key.weight",
                                 [f"qformer.encoder.layer.{layer}.attention.attention.key.weight"]),
                                (f"encoder.layer.{layer}.intermediate.dense.weight",
                                 [f"qformer.encoder.layer.{layer}.intermediate.dense.weight",
                                  f"qformer.encoder.layer.{layer}.intermediate_query.dense.weight"]),
                                (f"encoder.layer.{layer}.output.LayerNorm.bias",
                                 [f"qformer.encoder.layer.{layer}.output.LayerNorm.bias",
                                  f"qformer.encoder.layer.{layer}.output_query.LayerNorm.bias"])):
            for name in ours:
                assert torch.equal(own[name], bert[bert_name]), name
    assert torch.equal(own["text_embeddings.word_embeddings.weight"], bert["embeddings.word_embeddings.weight"])
    assert torch.equal(own["qformer.layernorm.weight"], bert["embeddings.LayerNorm.weight"])
    assert "qformer.encoder.layer.0.crossattention.attention.key.weight" in own  # every 2nd layer, fresh
    assert "qformer.encoder.layer.1.crossattention.attention.key.weight" not in own
    assert projector.query_tokens.std().item() == pytest.approx(0.02, rel=0.3)


def test_mapping_covers_every_bert_layer_weight():
    keys = ["bert.embeddings.token_type_embeddings.weight", "bert.encoder.layer.3.attention.output.dense.weight",
            "bert.encoder.layer.3.output.dense.weight", "bert.encoder.layer.20.output.dense.weight"]
    mapping = bert_to_qformer_keys(keys, layers=12)
    assert mapping == {"bert.encoder.layer.3.attention.output.dense.weight":
                       ["qformer.encoder.layer.3.attention.output.dense.weight"],
                       "bert.encoder.layer.3.output.dense.weight":
                       ["qformer.encoder.layer.3.output.dense.weight", "qformer.encoder.layer.3.output_query.dense.weight"]}


def test_settings_rebuild_the_same_shapes():
    for kind, settings in (("linear", {}), ("mlp", {"hidden": 7}), ("qformer", vars(SMALL) | {"bert": None})):
        first = make_projector(kind, 8, 12, settings)
        again = make_projector(kind, 8, 12, first.settings())
        assert {k: v.shape for k, v in first.state_dict().items()} == {k: v.shape for k, v in again.state_dict().items()}


def test_bad_projector_requests_are_clear(tmp_path):
    with pytest.raises(ValueError, match="unknown projector 'conv'"):
        make_projector("conv", 8, 12)
    with pytest.raises(ValueError, match="projector 'mlp'"):
        make_projector("mlp", 8, 12, {"depth": 3})
    with pytest.raises(MissingResourceError, match="no BERT checkpoint directory"):
        QFormerProjector(8, 12, QFormerSettings(bert=str(tmp_path / "nowhere")))


def test_an_llm_stage_freezes_the_text_path_and_trains_the_queries():
    projector = QFormerProjector(8, 12, SMALL)
    projector.freeze_text_path()
    frozen = {n for n, p in projector.named_parameters() if not p.requires_grad}
    assert frozen and all(n.startswith("text_embeddings.") or ".intermediate." in n or ".output." in n
                          for n in frozen)
    soft, _ = projector(torch.randn(2, 5, 8), torch.zeros(2, 5, dtype=torch.bool))
    soft.sum().backward()
    assert all(p.grad is not None for p in projector.parameters() if p.requires_grad)  # DDP waits for no one
