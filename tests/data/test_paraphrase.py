"""Paraphrased phrasings: the checks that keep a rewrite, the generated list, and a build that uses them."""

from __future__ import annotations

import json

import pytest
import yaml

from molbridge.data.build.config import load_config
from molbridge.data.build.pipeline import build
from molbridge.data.parquet_io import read_shard
from molbridge.tasks.paraphrase import acceptable, paraphrase_family, write_family
from molbridge.tasks.phrasing import load_phrasings, use_phrasings_dir

SOURCE = "Predict the {property} of the given molecule, in {unit}."


@pytest.mark.parametrize("candidate, reason", [
    ("Could you estimate the {property} of this molecule in {unit}?", None),
    ("Please estimate this molecule's {property} in {unit}.", None),
    ("The {property} of this molecule is {unit}.", "not a question or request"),
    ("Could you tell me the {property} of this molecule?", "placeholders changed"),
    ("Rewrite: give the {property} in {unit}.", "echoes the prompt or adds numbers"),
    ("Is the {property} of this molecule 5 {unit}?", "echoes the prompt or adds numbers"),
    ("{property} {unit}?", "length"),
    ("Predict the {property} of the given molecule, in {unit}.", "duplicate"),
])
def test_acceptable(candidate, reason):
    existing = {SOURCE.lower()}
    assert acceptable(SOURCE, candidate, existing, {"predict", "please"}) == reason


def test_paraphrase_family_appends_and_lists_what_was_generated(tmp_path):
    def reply(prompts):  # a deterministic stand-in for the language model: one good rewrite, the rest bad
        return ["Could you work out the {property} of this molecule in {unit}?" if "Predict the" in p
                else "The answer is 42." for p in prompts]

    data, rejected = paraphrase_family("properties", reply)
    original = load_phrasings("properties")
    assert data["generated"] == {"number_question": ["Could you work out the {property} of this molecule in {unit}?"]}
    assert data["number_question"] == original["number_question"] + data["generated"]["number_question"]
    assert sum(rejected.values()) == len(original["number_question"]) + len(original["qa_question"]) - 1
    write_family(tmp_path, "properties", data)
    assert json.loads((tmp_path / "properties.json").read_text())["generated"] == data["generated"]


def test_a_build_with_phrasings_dir_uses_the_extended_file(tmp_path):
    data = json.loads(json.dumps(load_phrasings("translation")))
    data["question"] = ["Could you render this {source} as its {target}, please?"] * 10
    data["generated"] = {"question": data["question"][:1]}
    write_family(tmp_path / "phr", "translation", data)
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"name": "p", "phrasings_dir": str(tmp_path / "phr"), "sources": [
        {"kind": "b3db", "limit": 5, "tasks": ["smiles2iupac"]}]}))
    try:
        build(load_config(config), tmp_path / "out")
    finally:
        use_phrasings_dir(None)
    records = [r for s in (tmp_path / "out" / "data").glob("*.parquet") for r in read_shard(s)]
    assert records and all(r.instruction.startswith("Could you render this ") for r in records)
    assert not load_phrasings("translation")["question"][0].startswith("Could you render")


def test_the_card_counts_generated_phrasings(tmp_path):
    data = json.loads(json.dumps(load_phrasings("translation")))
    data["generated"] = {"question": [data["question"][0]]}
    write_family(tmp_path / "phr", "translation", data)
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"name": "p", "phrasings_dir": str(tmp_path / "phr"), "sources": [
        {"kind": "b3db", "limit": 2, "tasks": ["smiles2iupac"]}]}))
    try:
        card = build(load_config(config), tmp_path / "out")
    finally:
        use_phrasings_dir(None)
    assert card["phrasings"] == {"dir": str(tmp_path / "phr"), "generated": {"translation": 1}}
    assert "model-generated phrasings per family: translation 1" in (tmp_path / "out" / "card.md").read_text()
