"""Prediction writes as it goes: an interrupted run resumes where it stopped, and a partial file of another model
or example set is refused, never mixed in."""

from __future__ import annotations

import pytest

from molbridge.apps import predict as predict_module
from molbridge.apps.predict import PredictionResumeError, predict, predict_to_file, read_predictions_file
from molbridge.train.examples import Example
from molbridge.train.modeling import load_trained


class Stop(Exception):
    pass


def test_an_interrupted_prediction_resumes_and_ends_as_a_straight_one(tmp_path, tiny_llama, monkeypatch) -> None:
    model, tokenizer, _ = load_trained(tiny_llama)
    examples = [Example(f"e{i}", "molecule_design", "smiles", f"Draw molecule number {i}:", "CCO") for i in range(10)]
    straight = predict(model, tokenizer, examples, max_new_tokens=4)
    monkeypatch.setattr(predict_module, "CHUNK", 4)  # write after every 4 examples

    def stop_after_first_chunk(event) -> None:
        if event.stage == "predict":
            raise Stop

    out = tmp_path / "preds.jsonl"
    with pytest.raises(Stop):
        predict_to_file(out, model, tokenizer, examples, model_id="m:1", max_new_tokens=4,
                        progress=stop_after_first_chunk)
    assert not out.exists() and len(read_predictions_file(tmp_path / ".preds.jsonl.partial")) == 4

    events = []
    resumed = predict_to_file(out, model, tokenizer, examples, model_id="m:1", max_new_tokens=4, progress=events.append)
    assert [e.done for e in events if e.stage == "predict"] == [8, 10]  # the first chunk was not generated again
    assert resumed == straight == read_predictions_file(out)
    assert not (tmp_path / ".preds.jsonl.partial").exists()
    again = predict_to_file(out, model, tokenizer, examples, model_id="m:1", max_new_tokens=4, progress=events.append)
    assert again == straight and [e.done for e in events if e.stage == "predict"] == [8, 10]  # finished: no work

    (tmp_path / ".other.jsonl.partial").write_text(out.read_text().splitlines()[0] + "\n")
    (tmp_path / ".other.jsonl.settings.json").write_text('{"model": "another"}')
    with pytest.raises(PredictionResumeError, match="another model"):
        predict_to_file(tmp_path / "other.jsonl", model, tokenizer, examples, model_id="m:1", max_new_tokens=4)
