"""Stage 1 of 3D-MoLM / BLIP-2: the Q-Former learns to read an encoder by three losses over (molecule, text) pairs.

- **contrast**: molecule ↔ text in the batch; the similarity of a pair is the best of the query
  tokens' similarities to the text's [CLS] feature (both projected to 256 and normalised),
  divided by a fixed temperature (0.1 in 3D-MoLM); both directions, averaged.
- **match**: a binary head over the query outputs of a joint pass (queries and text attend to each
  other, the queries read the molecule): every true pair plus, for each molecule and each text, one
  hard negative drawn ∝ softmax of the contrast similarities (the true partner excluded).
- **caption**: the text generated from the queries: text positions attend to all queries and to
  earlier text, queries only to queries (BLIP-2's multimodal causal mask), label smoothing 0.1.

Under DDP, in training, the contrast uses the features of every rank (gathered, gradients flowing
back to the local ones; ranks may hold different batch sizes); hard negatives for matching are drawn from the
local batch, whose encoder states the joint pass needs (3D-MoLM does the same).
A loss whose weight is 0 is not computed. Losses are batch means; `forward` returns them by name.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from molbridge.models.projectors import QFormerProjector
from molbridge.models.rank_gather import gathered_rows

LABEL_SMOOTHING = 0.1
IGNORE = -100


class QFormerPretraining(nn.Module):
    """Encoder + Q-Former + the contrast, match and caption heads; forward → {"contrast", "match", "caption"}."""

    def __init__(self, encoder: nn.Module, projector: QFormerProjector, *, temperature: float = 0.1,
                 weights: dict[str, float] | None = None, feature_dim: int = 256) -> None:
        super().__init__()
        self.encoder, self.projector = encoder, projector
        width = projector.width
        self.mol_proj = nn.Linear(width, feature_dim)
        self.text_proj = nn.Linear(width, feature_dim)
        self.itm_head = nn.Linear(width, 2)
        self.lm_transform = nn.Sequential(nn.Linear(width, width), nn.GELU(), nn.LayerNorm(width, eps=1e-12))
        self.lm_bias = nn.Parameter(torch.zeros(projector.qformer.config.vocab_size))
        self.temperature = temperature
        self.weights = weights or {"contrast": 1.0, "match": 1.0, "caption": 1.0}
        # a head whose loss is off gets no gradient: frozen, so DDP does not wait for one
        self.itm_head.requires_grad_(bool(self.weights.get("match")))
        self.lm_transform.requires_grad_(bool(self.weights.get("caption")))
        self.lm_bias.requires_grad_(bool(self.weights.get("caption")))
        if not self.weights.get("contrast"):  # matching reads their similarities only to draw negatives, ungraded
            self.mol_proj.requires_grad_(False)
            self.text_proj.requires_grad_(False)

    def train(self, mode: bool = True) -> QFormerPretraining:
        """Train mode, except a frozen encoder, which keeps its dropout off (3D-MoLM freezes Uni-Mol)."""
        super().train(mode)
        if not any(p.requires_grad for p in self.encoder.parameters()):
            self.encoder.eval()
        return self

    HEADS = ("mol_proj", "text_proj", "itm_head", "lm_transform", "lm_bias")

    def heads_state(self) -> dict[str, torch.Tensor]:
        """The contrast, match and caption heads' weights (the encoder and Q-Former are saved apart)."""
        return {k: v for k, v in self.state_dict().items() if k.split(".")[0] in self.HEADS}

    def load_heads(self, state: dict[str, torch.Tensor]) -> None:
        missing = set(self.heads_state()) - set(state)
        if missing or set(state) - set(self.heads_state()):
            raise ValueError(f"stage-1 heads do not match: missing {sorted(missing)[:3]}")
        self.load_state_dict(state, strict=False)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **encoder_batch: torch.Tensor
                ) -> dict[str, torch.Tensor]:
        states, padding = self.encoder(**encoder_batch)[:2]
        molecule = self.projector.ln_encoder(states)
        queries = self.projector.query(states, padding)
        text_embeds = self.projector.text_embeddings(input_ids=input_ids)
        losses: dict[str, torch.Tensor] = {}
        sim_m2t = sim_t2m = None
        offset = 0
        if self.weights.get("contrast") or self.weights.get("match"):
            text = self.projector.qformer(query_embeds=text_embeds, query_length=0,
                                          attention_mask=attention_mask).last_hidden_state[:, 0]
            mol_features = F.normalize(self.mol_proj(queries), dim=-1)
            text_features = F.normalize(self.text_proj(text), dim=-1)
            sim_m2t, sim_t2m, targets, offset = self._similarities(mol_features, text_features)
            if self.weights.get("contrast"):
                losses["contrast"] = (F.cross_entropy(sim_m2t, targets) + F.cross_entropy(sim_t2m, targets)) / 2
        if self.weights.get("match"):
            assert sim_m2t is not None and sim_t2m is not None
            local = slice(offset, offset + input_ids.shape[0])
            losses["match"] = self._match(molecule, padding, text_embeds, attention_mask, sim_m2t[:, local],
                                          sim_t2m[:, local])
        if self.weights.get("caption"):
            losses["caption"] = self._caption(molecule, padding, text_embeds, input_ids, attention_mask)
        return losses

    def _similarities(self, mol: torch.Tensor, text: torch.Tensor):
        """(molecule → all texts, text → all molecules) logits over every rank's batch, and the local targets."""
        # in training only: evaluation runs on one rank, which must not wait for the others
        (all_mol, offset), (all_text, _) = ((gathered_rows(mol), gathered_rows(text)) if self.training
                                            else ((mol, 0), (text, 0)))
        sim_m2t = torch.einsum("bqd,td->btq", mol, all_text).amax(-1) / self.temperature
        sim_t2m = torch.einsum("td,bqd->tbq", text, all_mol).amax(-1) / self.temperature
        targets = torch.arange(mol.shape[0], device=mol.device) + offset
        return sim_m2t, sim_t2m, targets, offset

    def joint(self, molecule: torch.Tensor, padding: torch.Tensor, text_embeds: torch.Tensor,
              text_mask: torch.Tensor) -> torch.Tensor:
        """Match logits (batch, 2) of molecule/text pairs from one joint Q-Former pass."""
        queries = self.projector.query_tokens.expand(molecule.shape[0], -1, -1)
        n = queries.shape[1]
        mask = torch.cat([torch.ones(text_mask.shape[0], n, dtype=text_mask.dtype, device=text_mask.device),
                          text_mask], dim=1)
        out = self.projector.qformer(query_embeds=torch.cat([queries, text_embeds], dim=1), query_length=n,
                                     attention_mask=mask, encoder_hidden_states=molecule,
                                     encoder_attention_mask=self.projector.cross_mask(padding, molecule.dtype)
                                     ).last_hidden_state
        return self.itm_head(out[:, :n]).mean(dim=1)

    def _match(self, molecule, padding, text_embeds, text_mask, sim_m2t, sim_t2m) -> torch.Tensor:
        b = molecule.shape[0]
        with torch.no_grad():  # hard negatives among the local batch, ∝ softmax(similarity), the partner excluded
            eye = torch.eye(b, dtype=torch.bool, device=molecule.device)
            w_t2m = F.softmax(sim_t2m.float(), dim=1).masked_fill(eye, 0) + 1e-12 * (~eye)
            w_m2t = F.softmax(sim_m2t.float(), dim=1).masked_fill(eye, 0) + 1e-12 * (~eye)
            negative_mol = torch.multinomial(w_t2m, 1).squeeze(1) if b > 1 else None
            negative_text = torch.multinomial(w_m2t, 1).squeeze(1) if b > 1 else None
        if negative_mol is None or negative_text is None:  # one pair: no negative to match against
            return self.joint(molecule, padding, text_embeds, text_mask).sum() * 0.0
        pairs_mol = torch.cat([molecule, molecule[negative_mol], molecule])
        pairs_pad = torch.cat([padding, padding[negative_mol], padding])
        pairs_text = torch.cat([text_embeds, text_embeds, text_embeds[negative_text]])
        pairs_mask = torch.cat([text_mask, text_mask, text_mask[negative_text]])
        logits = self.joint(pairs_mol, pairs_pad, pairs_text, pairs_mask)
        labels = torch.cat([torch.ones(b), torch.zeros(2 * b)]).long().to(logits.device)
        return F.cross_entropy(logits, labels)

    def _caption(self, molecule: torch.Tensor, padding: torch.Tensor, text_embeds: torch.Tensor,
                 input_ids: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        queries = self.projector.query_tokens.expand(input_ids.shape[0], -1, -1)
        n = queries.shape[1]
        out = self.projector.qformer(query_embeds=torch.cat([queries, text_embeds], dim=1), query_length=n,
                                     attention_mask=caption_mask(n, text_mask, text_embeds.dtype),
                                     encoder_hidden_states=molecule,
                                     encoder_attention_mask=self.projector.cross_mask(padding, molecule.dtype)
                                     ).last_hidden_state
        hidden = self.lm_transform(out[:, n:-1])  # text position j predicts token j + 1
        logits = hidden @ self.projector.text_embeddings.word_embeddings.weight.T + self.lm_bias
        labels = input_ids[:, 1:].masked_fill(text_mask[:, 1:] == 0, IGNORE)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), labels.reshape(-1),
                               ignore_index=IGNORE, label_smoothing=LABEL_SMOOTHING)


def caption_mask(queries: int, text_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Additive (batch, 1, q + t, q + t) mask: queries see queries; text sees every query and earlier real text."""
    b, t = text_mask.shape
    size = queries + t
    allowed = torch.zeros(b, size, size, dtype=torch.bool, device=text_mask.device)
    allowed[:, :queries, :queries] = True
    allowed[:, queries:, :queries] = True
    causal = torch.tril(torch.ones(t, t, dtype=torch.bool, device=text_mask.device))
    allowed[:, queries:, queries:] = causal & text_mask.bool()[:, None, :]
    return torch.zeros(b, 1, size, size, dtype=dtype, device=text_mask.device).masked_fill(
        ~allowed[:, None], torch.finfo(dtype).min)
