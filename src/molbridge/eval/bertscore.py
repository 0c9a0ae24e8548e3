"""BERTScore (Zhang et al., 2020) with a BERT-family model the user names: each token of one text is matched
to its most similar token of the other by the cosine of their contextual embeddings; precision averages over
the candidate's tokens, recall over the reference's, F1 combines them.

SEPIT's settings (`evaluate_task.py`): the model's last layer, no idf weighting, no baseline rescaling, each
text first cut to `truncation` tokens of the model's tokenizer (encoded and decoded again); [CLS]/[SEP] are
read by the model but not matched; an empty text scores 0 (as the bert-score package does). Our own code
because the packages made for it do not serve: bert-score 0.3.13 and its maintained fork call tokenizer
methods transformers 5 removed, and torchmetrics 1.9 returns per-sample scores in its length-sorted order, not
the input's (tests check these values against torchmetrics one pair at a time).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from molbridge.errors import MissingResourceError

BATCH = 32


def bertscore_values(references: Sequence[str], candidates: Sequence[str], model: str | Path, *,
                     truncation: int | None = 500) -> np.ndarray:
    """(n, 3) per-pair precision, recall and F1 on a 0–1 scale, in the input's order."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    if not Path(model).is_dir():
        raise MissingResourceError(f"BERTScore model {str(model)!r} is not a directory; pass a BERT-family model "
                                   "directory (SEPIT used PubMedBERT)")
    tokenizer = AutoTokenizer.from_pretrained(str(model))
    encoder = AutoModel.from_pretrained(str(model)).eval()
    layer = encoder.config.num_hidden_layers
    if truncation is not None:
        def cut(text: str) -> str:
            return str(tokenizer.decode(tokenizer.encode(text, max_length=truncation, truncation=True,
                                                         add_special_tokens=False)))

        references, candidates = [cut(t) for t in references], [cut(t) for t in candidates]
    embedded: dict[str, torch.Tensor] = {}  # text → its matched tokens' unit vectors
    distinct = sorted(set(references) | set(candidates), key=len)
    with torch.no_grad():
        for start in range(0, len(distinct), BATCH):
            texts = distinct[start:start + BATCH]
            batch = tokenizer(texts, padding=True, truncation=True, return_tensors="pt",
                              return_special_tokens_mask=True)
            special = batch.pop("special_tokens_mask").bool()
            states = encoder(**batch, output_hidden_states=True).hidden_states[layer]
            matched = batch["attention_mask"].bool() & ~special
            for row, text in enumerate(texts):
                embedded[text] = torch.nn.functional.normalize(states[row][matched[row]], dim=-1)
    scores = np.zeros((len(references), 3))
    for row, (reference, candidate) in enumerate(zip(references, candidates, strict=True)):
        ref, hyp = embedded[reference], embedded[candidate]
        if not len(ref) or not len(hyp):
            continue  # an empty text scores 0
        similarity = hyp @ ref.T
        precision, recall = float(similarity.max(dim=1).values.mean()), float(similarity.max(dim=0).values.mean())
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[row] = precision, recall, f1
    return scores
