"""`molbridge predict`: batched generation on examples, answer extraction, validity-aware re-sampling, resumable.

Output is a JSONL file, one row per example in input order (id, task, kind, group, reference,
prediction, raw reply, valid, attempts, meta) that `molbridge eval` reads with `-f jsonl`; tasks
with a MolT5 layout (ChEBI-20's two directions) also get MolT5 TSV files (`{stem}.{task}.tsv`)
that `molbridge eval mol2text|text2mol` scores under any paper's convention. Generation reports
progress per batch (stage "generate"); `predict_to_file` writes each finished chunk to a partial file
(stage "predict": examples written), so a killed
run resumes where it stopped (same model and settings, checked) and the final file appears
whole when every example is answered.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from molbridge.atomic import write_json, write_text
from molbridge.errors import MolbridgeError
from molbridge.eval.predictions import Layout, write_molt5
from molbridge.models.causal_lm import generate
from molbridge.models.multimodal import MultimodalLM
from molbridge.progress import Progress, ProgressFn, report
from molbridge.tasks import TASKS
from molbridge.tasks.answers import answer_kind
from molbridge.train.examples import Example

CHUNK = 64  # examples answered between two writes of the partial file


class PredictionResumeError(MolbridgeError, RuntimeError):
    """A partial prediction file written with other settings or examples."""


@dataclass
class Prediction:
    id: str
    task: str
    kind: str
    group: str
    reference: str
    prediction: str
    raw: str
    valid: bool
    attempts: int = 1
    meta: dict = field(default_factory=dict)


def predict(model, tokenizer, examples: Sequence[Example], *, max_new_tokens: int | None = None, batch_size: int = 8,
            num_beams: int = 1, resample: int = 0, temperature: float = 0.7, seed: int = 0,
            progress: ProgressFn | None = None) -> list[Prediction]:
    """One prediction per example, in order; molecule answers that come out invalid are re-sampled up to
    `resample` times. `max_new_tokens` None: each example's own budget (its task's). An example without a
    prompt (over the length budget) gets an empty, invalid answer. Progress: stage "generate", examples done."""
    done = 0

    def counted(event: Progress) -> None:
        report(progress, "generate", done + event.done, len(examples), unit="examples")

    def replies(indices: list[int], track: bool, **sampling) -> dict[int, str]:
        nonlocal done
        found = {i: "" for i in indices if examples[i].prompt is None}  # over budget: answered with nothing
        prompts = {i: prompt for i in indices if (prompt := examples[i].prompt) is not None}
        asked = list(prompts)
        budgets = {i: max_new_tokens or examples[i].max_new_tokens or answer_kind(examples[i].kind).max_new_tokens
                   for i in asked}
        for budget, one_line in dict.fromkeys((budgets[i], answer_kind(examples[i].kind).one_line) for i in asked):
            rows = [i for i in asked if budgets[i] == budget and answer_kind(examples[i].kind).one_line == one_line]
            texts = _generate(model, tokenizer, [examples[i] for i in rows], max_new_tokens=budget,
                              batch_size=batch_size, stop=("\n",) if one_line else (),
                              progress=counted if track else None, **sampling)
            found.update(zip(rows, texts, strict=True))
            done += len(rows)
        return found

    first = replies(list(range(len(examples))), True, num_beams=num_beams)
    predictions = []
    for i, e in enumerate(examples):
        kind = answer_kind(e.kind)
        answer = kind.extract(first[i])
        predictions.append(Prediction(e.id, e.task, e.kind, e.group, e.answer, answer, first[i], kind.valid(answer), 1,
                                      dict(e.meta)))
    for attempt in range(resample):
        retry = [i for i, p in enumerate(predictions) if answer_kind(p.kind).family == "molecule" and not p.valid
                 and examples[i].prompt is not None]
        if not retry:
            break
        again = replies(retry, False, temperature=temperature, seed=seed + attempt)
        for i in retry:
            p, kind = predictions[i], answer_kind(predictions[i].kind)
            p.attempts += 1
            answer = kind.extract(again[i])
            if kind.valid(answer):
                p.prediction, p.raw, p.valid = answer, again[i], True
    return predictions


def _generate(model, tokenizer, chosen: Sequence[Example], **settings) -> list[str]:
    """Continuations of the examples' prompts; a multimodal model also reads each example's encoder input."""
    prompts = [e.prompt or "" for e in chosen]
    if isinstance(model, MultimodalLM):
        return model.generate(prompts, [e.item for e in chosen], [e.id for e in chosen], **settings)
    return generate(model, tokenizer, prompts, **settings)


def predict_to_file(path: str | Path, model, tokenizer, examples: Sequence[Example], *, model_id: str,
                    progress: ProgressFn | None = None, **settings) -> list[Prediction]:
    """`predict` into `path` (and its MolT5 TSVs), resuming a partial run of the same model, settings and examples.

    `model_id` names the model's weights (e.g. its training fingerprint): a partial file written by
    another model or with other settings is refused, never mixed in. Returns every prediction."""
    path = Path(path)
    partial, sidecar = path.with_name(f".{path.name}.partial"), path.with_name(f".{path.name}.settings.json")
    asked = "\x1f".join(f"{e.id}\x1e{e.prompt}" for e in examples)  # ids and prompts: a changed prompt is new work
    identity = {"model": model_id, "settings": settings, "examples": hashlib.sha256(asked.encode()).hexdigest()[:16]}
    if path.is_file() and sidecar.is_file() and json.loads(sidecar.read_text()) == identity:
        return read_predictions_file(path)
    done = _resumed(partial, sidecar, identity)
    write_json(sidecar, identity)
    for start in range(len(done), len(examples), CHUNK):
        def generated(event: Progress, start: int = start) -> None:
            report(progress, "generate", start + event.done, len(examples), unit="examples")

        chunk = predict(model, tokenizer, examples[start:start + CHUNK], progress=generated, **settings)
        done += chunk
        write_text(partial, "".join(json.dumps(asdict(p), ensure_ascii=False) + "\n" for p in done))
        report(progress, "predict", len(done), len(examples), unit="examples")
    write_predictions(path, done)
    partial.unlink(missing_ok=True)
    return done


def _resumed(partial: Path, sidecar: Path, identity: dict) -> list[Prediction]:
    if not partial.is_file():
        return []
    previous = json.loads(sidecar.read_text()) if sidecar.is_file() else None
    if previous != identity:
        raise PredictionResumeError(f"{partial} holds predictions of another model, settings or example set; "
                                    "remove it (and its .settings.json) to start again")
    return read_predictions_file(partial)


def write_predictions(path: str | Path, predictions: Sequence[Prediction]) -> list[Path]:
    """The JSONL file and, for tasks with a MolT5 layout, MolT5 TSVs beside it; returns the paths written."""
    path = Path(path)
    write_text(path, "".join(json.dumps(asdict(p), ensure_ascii=False) + "\n" for p in predictions))
    tables = molt5_tables(path, predictions)
    for tsv, (layout, rows) in tables.items():
        write_molt5(tsv, layout, [(p.meta["source_stored"], p.meta["target_stored"], p.prediction) for p in rows])
    return [path, *tables]


def molt5_tables(path: Path, predictions: Sequence[Prediction]) -> dict[Path, tuple[Layout, list[Prediction]]]:
    """`{stem}.{task}.tsv` beside `path` → (MolT5 layout, rows) for each task with a MolT5 layout."""
    tables = {}
    for name in dict.fromkeys(p.task for p in predictions):
        layout = TASKS.get(name).molt5 if name in TASKS else None
        rows = [p for p in predictions if p.task == name and "source_stored" in p.meta]
        if layout and rows:
            tables[path.with_name(f"{path.stem}.{name}.tsv")] = (layout, rows)
    return tables


def read_predictions_file(path: str | Path) -> list[Prediction]:
    with Path(path).open(encoding="utf-8") as handle:
        return [Prediction(**json.loads(line)) for line in handle if line.strip()]
