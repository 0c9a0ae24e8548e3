"""The registry: a task registered here (one registration + its phrasing file) runs build → examples → predict →
score → copy baseline with no other code; unknown names are typed errors that list the registered ones."""

from __future__ import annotations

import json

import pytest
import yaml
from rdkit.Chem.rdMolDescriptors import CalcMolFormula

from molbridge.apps.copy_baseline import baseline_predictions
from molbridge.apps.predict import predict
from molbridge.apps.scoring import score_predictions
from molbridge.data.build.config import ConfigError, load_config
from molbridge.data.build.pipeline import build
from molbridge.data.parquet_io import read_shard
from molbridge.tasks import SOURCES, TASKS, Draft, Subject, Task, UnknownNameError, fed_by, task_for
from molbridge.tasks.answers import TEXT
from molbridge.tasks.phrasing import choose, load_phrasings
from molbridge.train.examples import instruction_examples
from molbridge.train.modeling import load_trained

QUESTIONS = [f"What is the molecular formula of this molecule? ({n})" for n in range(10)]


def _formula(subject: Subject, prefix: str) -> list[Draft]:
    question = choose(load_phrasings("formula")["formula_question"], prefix)
    return [Draft(question, subject.modalities.smiles or "", CalcMolFormula(subject.mol))]


@pytest.fixture
def formula_task():
    task = TASKS.register(Task("smiles2formula", "SMILES → molecular formula", TEXT, consumes=("smiles",),
                               query="molecule", copy="morgan", build=_formula, needs=frozenset({"smiles"}),
                               phrasings="formula"))
    yield task
    TASKS.unregister(task.name)


def test_a_task_registered_in_a_test_runs_every_stage(tmp_path, formula_task, tiny_llama) -> None:
    (tmp_path / "phrasings").mkdir()
    (tmp_path / "phrasings" / "formula.json").write_text(json.dumps({"formula_question": QUESTIONS}))
    config = tmp_path / "build.yaml"
    config.write_text(yaml.safe_dump({
        "name": "formula", "chunk_size": 20, "phrasings_dir": str(tmp_path / "phrasings"),
        "sources": [{"kind": "b3db", "limit": 60, "tasks": ["smiles2formula"]},
                    {"kind": "qm9", "limit": 20, "tasks": ["smiles2formula", "property_prediction"]}],
        "split": {"method": "scaffold", "fractions": [0.6, 0.2, 0.2]}}))
    out = tmp_path / "out"
    card = build(load_config(config), out)
    assert card["tasks"]["smiles2formula"] > 60 and card["tasks"]["property_prediction"] == 60

    records = {s: [r for p in sorted((out / "data").glob(f"{s}-*.parquet")) for r in read_shard(p)]
               for s in ("train", "test")}
    formula = [r for r in records["test"] if r.task == "smiles2formula"]
    assert formula and all(r.instruction in QUESTIONS and r.output == CalcMolFormula(_mol(r.input)) for r in formula)

    model, tokenizer, _ = load_trained(tiny_llama)
    examples = instruction_examples(out, "test", ["smiles2formula"], tokenizer)
    assert len(examples) == len(formula) and all(e.kind == "text" and e.max_new_tokens == 96 for e in examples)
    predictions = predict(model, tokenizer, examples, max_new_tokens=4)
    report = score_predictions(predictions)["smiles2formula"]
    assert report.n == len(formula) and report.convention["text_tokenizer"] == "whitespace"

    baseline = baseline_predictions(predictions, records["train"], records["test"])
    assert [b.id for b in baseline] == [p.id for p in predictions]  # every row, answered by the nearest molecule
    trained = {r.output for r in records["train"] if r.task == "smiles2formula"}
    assert all(b.prediction in trained for b in baseline)


def _mol(smiles: str):
    from molbridge.chem.parse import to_mol

    return to_mol(smiles)


def test_a_source_that_cannot_feed_a_task_is_refused_at_config_time(tmp_path, formula_task) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump({"name": "bad", "sources": [{"kind": "uniprot_go", "tasks": ["smiles2formula"]}]}))
    with pytest.raises(ConfigError, match="cannot feed task 'smiles2formula'.*lacks smiles"):
        load_config(config)


def test_unknown_names_list_the_registered_ones() -> None:
    with pytest.raises(UnknownNameError, match="unknown task 'total_synthesis'; registered: property_prediction"):
        TASKS.get("total_synthesis")
    with pytest.raises(UnknownNameError, match="unknown source 'pubchem'"):
        SOURCES.get("pubchem")
    with pytest.raises(ValueError, match="already registered"):
        TASKS.register(TASKS.get("mol2text"))


def test_every_registered_task_is_complete() -> None:
    from molbridge.eval.scorers import FAMILIES
    from molbridge.retrieval.baselines import retrievers_for

    for task in TASKS:
        assert task.decoding_length > 0 and task.family in FAMILIES
        assert task.copy is None or task.copy in retrievers_for(task), f"{task.name}: copy {task.copy} cannot search"
        if task.build is not None:
            assert any(task in fed_by(s) for s in SOURCES), f"no registered source feeds {task.name}"
            if task.phrasings:
                assert load_phrasings(task.phrasings)
    assert task_for("an_imported_task").copy == "bm25" and task_for("an_imported_task").build is None


PLUGIN = '''
from rdkit.Chem.rdMolDescriptors import CalcNumRings
from molbridge.tasks import TASKS, Draft, Task
from molbridge.tasks.answers import NUMBER

def rings(subject, prefix):
    return [Draft("How many rings does this molecule have?", subject.modalities.smiles, str(CalcNumRings(subject.mol)))]

TASKS.register(Task("ring_count", "SMILES → number of rings", NUMBER, consumes=("smiles",), query="molecule",
                    copy="morgan", build=rings, needs=frozenset({"smiles"}), max_new_tokens=7))
'''


def test_a_plugin_task_is_built_by_workers_and_known_to_training_in_a_new_process(tmp_path, tiny_llama) -> None:
    import subprocess
    import sys

    (tmp_path / "ring_plugin.py").write_text(PLUGIN)
    config = tmp_path / "build.yaml"
    config.write_text(yaml.safe_dump({"name": "rings", "chunk_size": 10, "plugins": ["ring_plugin"],
                                      "sources": [{"kind": "b3db", "limit": 40, "tasks": ["ring_count"]}],
                                      "split": {"method": "random", "fractions": [0.5, 0.25, 0.25]}}))
    env = {**__import__("os").environ, "PYTHONPATH": str(tmp_path)}
    built = subprocess.run([sys.executable, "-m", "molbridge", "data", "build", str(config), "--out",
                            str(tmp_path / "out"), "--workers", "2"], capture_output=True, text=True, env=env,
                           timeout=600)
    assert built.returncode == 0, built.stderr[-2000:]
    assert json.loads((tmp_path / "out" / "card.json").read_text())["tasks"]["ring_count"] == 40
    read = ("from transformers import AutoTokenizer; from molbridge.train.examples import instruction_examples; "
            f"e = instruction_examples({str(tmp_path / 'out')!r}, 'train', [], AutoTokenizer.from_pretrained("
            f"{str(tiny_llama)!r}))[0]; print(e.kind, e.max_new_tokens)")
    shown = subprocess.run([sys.executable, "-c", read], capture_output=True, text=True, env=env, timeout=300)
    assert shown.stdout.split() == ["number", "7"], shown.stderr[-2000:]  # the plugin's task, not a generic one
