"""T5-family encoder-decoder models train, save, reload and predict through the same path as causal LMs."""

from __future__ import annotations

import torch

from molbridge.apps.predict import predict
from molbridge.train.config import TrainConfig
from molbridge.train.examples import Example
from molbridge.train.loop import train
from molbridge.train.modeling import is_seq2seq, load_trained
from tests.tiny_models import chebi20_tiny, make_tiny_t5


def test_t5_lora_trains_and_predicts(tmp_path) -> None:
    model_dir = make_tiny_t5(tmp_path / "tiny-t5")
    assert is_seq2seq(str(model_dir))
    config = TrainConfig(model=str(model_dir), task="sft", data={"train": str(chebi20_tiny(tmp_path, 12))},
                         max_steps=3, batch_size=4, save_every=3, eval_every=0, tensorboard=False,
                         out=str(tmp_path / "run"))
    result = train(config)
    assert result.steps == 3 and result.final_loss is not None and torch.isfinite(torch.tensor(result.final_loss))
    model, tokenizer, info = load_trained(tmp_path / "run")
    assert info["seq2seq"] and model.config.is_encoder_decoder
    examples = [Example("x", "mol2text", "text", "Generate a caption for the molecule: CCO", "ethanol")]
    (prediction,) = predict(model, tokenizer, examples, max_new_tokens=5)
    assert prediction.id == "x" and isinstance(prediction.raw, str)
