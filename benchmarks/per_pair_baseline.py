"""The baseline: MolT5's convention computed the way its reference scripts do, one pair at a time.

Same libraries and settings as the reference (`BertTokenizerFast.tokenize` padded to 512 per
text, nltk `corpus_bleu` per weight tuple, nltk `meteor_score` with its default WordNet loader,
`rouge_score.RougeScorer.score` per pair; RDKit parsing in each of the two molecule scripts,
legacy fingerprint calls per pair, `fcd.get_fcd`). Used only by bench_eval.py to compare speed
and to confirm the engine's values are identical.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf8") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def text_metrics(path: Path, tokenizer_dir: str) -> dict[str, float]:
    from nltk.translate.bleu_score import corpus_bleu
    from nltk.translate.meteor_score import meteor_score
    from rouge_score import rouge_scorer
    from transformers import BertTokenizerFast  # type: ignore[attr-defined]  # exported lazily

    special = {"[PAD]", "[CLS]", "[SEP]"}
    pairs = []
    for row in _rows(path):
        out = row["output"][6:] if row["output"].startswith("[CLS] ") else row["output"]
        pairs.append((row["ground truth"], out))
    tokenizer = BertTokenizerFast.from_pretrained(tokenizer_dir)
    references, hypotheses, meteors = [], [], []
    for gt, out in pairs:
        gt_tokens = [t for t in tokenizer.tokenize(gt, truncation=True, max_length=512, padding="max_length")
                     if t not in special]
        out_tokens = [t for t in tokenizer.tokenize(out, truncation=True, max_length=512, padding="max_length")
                      if t not in special]
        references.append([gt_tokens])
        hypotheses.append(out_tokens)
        meteors.append(meteor_score([gt_tokens], out_tokens))
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
    rouges = [scorer.score(out, gt) for gt, out in pairs]
    return {
        "bleu2": corpus_bleu(references, hypotheses, weights=(0.5, 0.5)),
        "bleu4": corpus_bleu(references, hypotheses, weights=(0.25, 0.25, 0.25, 0.25)),
        "rouge1": float(np.mean([r["rouge1"].fmeasure for r in rouges])),
        "rouge2": float(np.mean([r["rouge2"].fmeasure for r in rouges])),
        "rougeL": float(np.mean([r["rougeL"].fmeasure for r in rouges])),
        "meteor": float(np.mean(meteors)),
    }


def molecule_metrics(path: Path) -> dict[str, float]:
    from Levenshtein import distance
    from nltk.translate.bleu_score import corpus_bleu
    from rdkit import Chem, DataStructs
    from rdkit.Chem import AllChem, MACCSkeys

    rows = _rows(path)
    # script 1: string metrics and exact match
    references, hypotheses, levs, exact, bad = [], [], [], 0, 0
    for row in rows:
        gt, out = row["ground truth"], row["output"]
        references.append([list(gt)])
        hypotheses.append(list(out))
        try:
            if Chem.MolToInchi(Chem.MolFromSmiles(out)) == Chem.MolToInchi(Chem.MolFromSmiles(gt)):
                exact += 1
        except Exception:
            bad += 1
        levs.append(distance(out, gt))
    # script 2: fingerprints over parsable outputs
    maccs, rdk, morgan = [], [], []
    for row in rows:
        gt_mol, out_mol = Chem.MolFromSmiles(row["ground truth"]), Chem.MolFromSmiles(row["output"])
        if out_mol is None:
            continue
        maccs.append(DataStructs.FingerprintSimilarity(MACCSkeys.GenMACCSKeys(gt_mol),  # type: ignore[attr-defined]
                                                       MACCSkeys.GenMACCSKeys(out_mol)))  # type: ignore[attr-defined]
        rdk.append(DataStructs.FingerprintSimilarity(Chem.RDKFingerprint(gt_mol), Chem.RDKFingerprint(out_mol)))
        # the reference scripts' deprecated count fingerprint, which rdkit-stubs no longer list
        morgan.append(DataStructs.TanimotoSimilarity(AllChem.GetMorganFingerprint(gt_mol, 2),  # type: ignore[attr-defined]
                                                     AllChem.GetMorganFingerprint(out_mol, 2)))  # type: ignore[attr-defined]
    return {
        "bleu": corpus_bleu(references, hypotheses),
        "exact_match": exact / len(rows),
        "levenshtein": float(np.mean(levs)),
        "validity": 1 - bad / len(rows),
        "maccs_fts": float(np.mean(maccs)),
        "rdk_fts": float(np.mean(rdk)),
        "morgan_fts": float(np.mean(morgan)),
    }


def fcd_value(path: Path) -> float:
    from fcd import canonical_smiles, get_fcd, load_ref_model

    rows = _rows(path)
    gts = [r["ground truth"] for r in rows]
    outs = [r["output"] or "[]" for r in rows]
    model = load_ref_model()
    canon_gt = [s for s in canonical_smiles(gts) if s is not None]
    canon_out = [s for s in canonical_smiles(outs) if s is not None]
    return get_fcd(canon_gt, canon_out, model)
