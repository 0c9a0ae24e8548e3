"""Applications on multimodal runs: stage-1 retrieval (training's similarity, re-ranking by the match head),
`molbridge predict` (and its HTML report) on a stage-1 and a soft-token run, and stage 3 on 3D-MoIT files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from molbridge.apps.mol_text_retrieval import Pair, encode_pairs, match_logits, rescored, similarities
from molbridge.apps.trained_runs import is_stage1
from molbridge.cli.main import app
from molbridge.models.encoders import ENCODERS
from molbridge.models.multimodal_io import load_stage1
from molbridge.train.config import load_train_config
from molbridge.train.loop import train

ENCODER = {"layers": 1, "embed_dim": 16, "ffn_dim": 32, "heads": 2, "kernels": 8}
QFORMER = {"queries": 2, "hidden_size": 16, "layers": 2, "heads": 2, "intermediate_size": 32}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, multimodal_dataset, tiny_llama):
    root = tmp_path_factory.mktemp("runs")
    common = {"model": str(tiny_llama), "task": "instructions", "batch_size": 4, "eval_every": 0, "data": {"dataset": str(multimodal_dataset), "tasks": ["mol2text"],
                                            "eval_examples": 2}}
    first = root / "s1.yaml"
    first.write_text(yaml.safe_dump({**common, "max_steps": 4, "save_every": 4, "multimodal": {
        "stage": "qformer", "encoder_settings": ENCODER, "projector_settings": QFORMER}}))
    train(load_train_config(first, out=str(root / "s1")))
    second = root / "s2.yaml"
    second.write_text(yaml.safe_dump({**common, "max_steps": 2, "save_every": 2,
                                      "lora": {"r": 2, "alpha": 4, "target_modules": ["q_proj"]},
                                      "multimodal": {"stage": "llm", "init_from": str(root / "s1" / "final")}}))
    train(load_train_config(second, out=str(root / "s2")))
    return root


def pairs_of(model_dir, dataset):
    from molbridge.chem.conformer_tokens import conformer_tokens
    from molbridge.data.parquet_io import read_shard

    records = [r for shard in sorted((dataset / "data").glob("train-*.parquet")) for r in read_shard(shard)
               if r.task == "mol2text"]
    return [Pair(r.id, conformer_tokens(r.modalities.conformer, r.id), r.modalities.caption) for r in records[:6]]


def test_retrieval_scores_are_trainings_similarities_and_reranking_adds_the_match_logit(runs, multimodal_dataset):
    model, tokenizer = load_stage1(runs / "s1" / "final")
    pairs = pairs_of(runs / "s1" / "final", multimodal_dataset)
    encoded = encode_pairs(model, tokenizer, ENCODERS["unimol"], pairs, batch_size=4)
    scores = similarities(encoded)
    batch = tokenizer([p.caption for p in pairs], padding=True, truncation=True, max_length=128, return_tensors="pt")
    with torch.no_grad():
        # the training forward's contrast logits (× temperature) for the same six pairs in one batch
        states = model.encoder(**ENCODERS["unimol"].collate([p.item for p in pairs]))
        queries = model.projector.query(states.states, states.padding)
        text = model.projector.qformer(query_embeds=model.projector.text_embeddings(input_ids=batch["input_ids"]),
                                       query_length=0, attention_mask=batch["attention_mask"]).last_hidden_state[:, 0]
        m2t, _, _, _ = model._similarities(torch.nn.functional.normalize(model.mol_proj(queries), dim=-1),
                                           torch.nn.functional.normalize(model.text_proj(text), dim=-1))
    np.testing.assert_allclose(scores, m2t.double().numpy() * model.temperature, atol=1e-5)
    top = 3
    again = rescored(model, encoded, scores, lambda row: np.argsort(-scores[row], kind="stable")[:top],
                     molecule_queries=True)
    for row in range(len(pairs)):
        chosen = np.argsort(-scores[row], kind="stable")[:top]
        rest = np.setdiff1d(np.arange(len(pairs)), chosen)
        np.testing.assert_allclose(again[row, chosen], scores[row, chosen]
                                   + match_logits(model, encoded, [row] * top, chosen.tolist()), atol=1e-6)
        assert again[row, rest].max() < again[row, chosen].min()
        assert list(np.argsort(-again[row, rest], kind="stable")) == list(np.argsort(-scores[row, rest], kind="stable"))


def test_predict_scores_a_stage1_run_by_retrieval(runs, tmp_path):
    assert is_stage1(runs / "s1") and not is_stage1(runs / "s2")
    out, page = tmp_path / "retrieval.json", tmp_path / "s1.html"
    result = CliRunner().invoke(app, ["predict", str(runs / "s1"), "--out", str(out), "--split", "train",
                                      "--report", str(page), "--quiet"])
    assert result.exit_code == 0, result.output
    html = page.read_text()
    assert "stage 1: unimol encoder (frozen) and Q-Former, no LLM: 4 optimizer steps" in html
    assert "in_batch_rerank:t2m" in html and "data:image/png;base64," in html
    reports = json.loads(out.read_text())
    assert set(reports) == {f"{pool}{rerank}:{d}" for pool in ("in_batch", "full") for rerank in ("", "_rerank")
                            for d in ("m2t", "t2m")}
    assert all(r["n"] == 16 and 0 <= r["acc1"] <= 1 for r in reports.values())


def test_predict_answers_with_a_soft_token_run(runs, tmp_path):
    out, page = tmp_path / "predictions.jsonl", tmp_path / "s2.html"
    result = CliRunner().invoke(app, ["predict", str(runs / "s2"), "--out", str(out), "--split", "test",
                                      "--max-new-tokens", "4", "--report", str(page), "--quiet"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 6 and all(row["task"] == "mol2text" for row in rows)
    assert "mol2text:" in result.output
    html = page.read_text()
    assert "soft tokens from a unimol encoder (frozen) through a qformer projector: 2 optimizer steps" in html
    assert html.count("<td>bleu4</td>") == 1 and "copy baseline" in html and "<svg" in html  # the input depicted


def test_stage3_trains_and_is_scored_on_3d_moit_files(runs, tmp_path, tiny_llama):
    """3D-MoIT's property records (CIDs joined to SMILES, conformers computed) train stage 3 from stage 1, and
    each property is scored in its own group with 3D-MoLM's windows, next to the copy baseline."""
    from tests.data.test_imported_splits import build_from
    from tests.data.test_moit3d_import import moit_items

    table = tmp_path / "cid-smiles.tsv"
    cids = {"702": "CCO", "2244": "CC(=O)Oc1ccccc1C(=O)O", "887": "CO", "241": "c1ccccc1", "180": "CC(C)=O",
            "962": "O", "297": "C", "6324": "CC", "7847": "CCOCC", "1031": "CCCO"}
    table.write_text("".join(f"{cid}\t{smiles}\n" for cid, smiles in cids.items()))
    dataset, _ = build_from(tmp_path, "moit3d", moit_items(tuple(cids)), cid_table=str(table), conformers=True,
                            splitting={"method": "random", "fractions": [0.6, 0.2, 0.2], "seed": 0})
    config = tmp_path / "s3.yaml"
    config.write_text(yaml.safe_dump({
        "model": str(tiny_llama), "task": "instructions", "batch_size": 4, "eval_every": 0, "max_steps": 2,
        "save_every": 2, "lora": {"r": 2, "alpha": 4, "target_modules": ["q_proj"]},
        "data": {"dataset": str(dataset), "tasks": ["computed_property"], "eval_examples": 2, "group_balance": 0.25},
        "multimodal": {"stage": "llm", "init_from": str(runs / "s1" / "final")}}))
    assert train(load_train_config(config, out=str(tmp_path / "s3"))).steps == 2
    out, page = tmp_path / "s3.jsonl", tmp_path / "s3.html"
    result = CliRunner().invoke(app, ["predict", str(tmp_path / "s3"), "--out", str(out), "--split", "validation",
                                      "--max-new-tokens", "6", "--report", str(page), "--quiet"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and all(row["task"] == "computed_property" for row in rows)
    assert {row["group"] for row in rows} <= {f"computed_property:{p}" for p in
                                               ("mol_weight", "logp", "tpsa", "bertz_complexity", "homo", "lumo",
                                                "gap", "scf_energy")}
    assert all(row["meta"]["value"] is not None for row in rows)
    html = page.read_text()
    groups = {row["group"] for row in rows}
    assert all(f"<b>{group}</b>" in html for group in groups) and html.count("<td>valid_ratio</td>") == len(groups)
