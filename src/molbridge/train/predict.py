"""`molbridge predict`: batched generation on examples, answer extraction, validity-aware re-sampling.

Output is a JSONL file, one row per example in input order (id, task, kind, group, reference,
prediction, raw reply, valid, attempts, meta) that `molbridge eval` reads with `-f jsonl`; for
ChEBI-20 directions it also writes MolT5 TSV files (`{stem}.{mol2text|text2mol}.tsv`) that
`molbridge eval mol2text|text2mol` scores under any paper's convention.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from molbridge.eval.predictions import write_molt5
from molbridge.models.causal_lm import generate
from molbridge.train.examples import Example
from molbridge.train.extract import MOLECULE_KINDS, extract, is_valid


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


# new tokens an answer of each kind may take (a sentence, a long SMILES, a protein); decoding also stops at a
# newline for the one-line kinds, so degenerate repetition costs little
MAX_NEW_TOKENS = {"text": 96, "smiles": 128, "selfies": 192, "inchi": 128, "protein": 256, "number": 32,
                  "yes_no": 8}


def predict(model, tokenizer, examples: Sequence[Example], *, max_new_tokens: int | None = None, batch_size: int = 8,
            num_beams: int = 1, resample: int = 0, temperature: float = 0.7, seed: int = 0) -> list[Prediction]:
    """One prediction per example, in order; molecule answers that come out invalid are re-sampled up to
    `resample` times. `max_new_tokens` None: per answer kind (MAX_NEW_TOKENS). An example without a prompt
    (its request could not fit the model's length) gets an empty, invalid answer."""
    def replies(indices: list[int], **sampling) -> dict[int, str]:
        found = {i: "" for i in indices if not examples[i].prompt}  # no prompt fitted: answered with nothing
        indices = [i for i in indices if examples[i].prompt]
        for kind in dict.fromkeys(examples[i].kind for i in indices):
            rows = [i for i in indices if examples[i].kind == kind]
            texts = generate(model, tokenizer, [examples[i].prompt for i in rows],
                             max_new_tokens=max_new_tokens or MAX_NEW_TOKENS.get(kind, 128), batch_size=batch_size,
                             stop=() if kind == "text" else ("\n",), **sampling)
            found.update(zip(rows, texts, strict=True))
        return found

    first = replies(list(range(len(examples))), num_beams=num_beams)
    predictions = []
    for i, example in enumerate(examples):
        answer = extract(example.kind, first[i])
        predictions.append(Prediction(example.id, example.task, example.kind, example.group, example.answer, answer,
                                      first[i], is_valid(example.kind, answer), 1, dict(example.meta)))
    for attempt in range(resample):
        retry = [i for i, p in enumerate(predictions) if p.kind in MOLECULE_KINDS and not p.valid]
        if not retry:
            break
        again = replies(retry, temperature=temperature, seed=seed + attempt)
        for i in retry:
            p = predictions[i]
            p.attempts += 1
            answer = extract(p.kind, again[i])
            if is_valid(p.kind, answer):
                p.prediction, p.raw, p.valid = answer, again[i], True
    return predictions


def write_predictions(path: str | Path, predictions: Sequence[Prediction]) -> list[Path]:
    """The JSONL file and, for ChEBI-20 directions, MolT5 TSVs beside it; returns the paths written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for p in predictions:
            handle.write(json.dumps(asdict(p), ensure_ascii=False) + "\n")
    written = [path]
    for task in ("mol2text", "text2mol"):
        rows = [p for p in predictions if p.task == task and "smiles_raw" in p.meta]
        if rows:
            tsv = path.with_name(f"{path.stem}.{task}.tsv")
            # MolT5 columns: (SMILES, ground-truth caption, output) or (description, ground-truth SMILES, output)
            write_molt5(tsv, task, [(p.meta["smiles_raw"], p.reference, p.prediction) if task == "mol2text"
                                    else (p.meta["source"], p.meta["smiles_raw"], p.prediction) for p in rows])
            written.append(tsv)
    return written


def read_predictions_file(path: str | Path) -> list[Prediction]:
    with Path(path).open(encoding="utf-8") as handle:
        return [Prediction(**json.loads(line)) for line in handle if line.strip()]
