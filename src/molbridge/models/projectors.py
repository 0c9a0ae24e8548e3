"""Projectors: encoder states → soft tokens in an LLM's embedding space (linear, MLP, Q-Former).

Every projector takes the encoder's per-token states and its pad mask (True = pad) and returns
soft tokens with their own mask: linear and MLP keep one soft token per encoder position (pads
stay pads), the Q-Former a fixed number of learned queries that read the real positions by
cross-attention. `num_tokens` says which: an int (fixed) or None (one per real position).

The Q-Former is transformers' BLIP-2 Q-Former (`Blip2QFormerModel`), with the text embeddings
BLIP-2 pairs it with, so stage 1 (contrast, matching, captioning) can run text through the same
layers. `init_from_bert` starts it from any BERT-family checkpoint as BLIP-2 and 3D-MoLM do
(SciBERT there): self-attention, text embeddings and both feed-forward paths (queries and text)
from the BERT's layers, cross-attention fresh. 3D-MoLM passes the encoder's pad mask to the
Q-Former with the opposite meaning, so its queries attend to pads and never to atoms; here the
cross-attention mask is 1 on real atoms (tested: changing a pad's state changes nothing).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from molbridge.errors import MissingResourceError


class Projector(nn.Module):
    """Encoder states (batch, n, encoder width) + pad mask → soft tokens (batch, t, LLM width) + pad mask."""

    num_tokens: int | None = None

    def forward(self, states: torch.Tensor, padding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def settings(self) -> dict[str, Any]:
        """What rebuilds this projector's shapes (`make_projector(kind, encoder_dim, llm_dim, settings)`)."""
        return {}


class LinearProjector(Projector):
    def __init__(self, encoder_dim: int, llm_dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(encoder_dim, llm_dim)

    def forward(self, states: torch.Tensor, padding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.proj(states), padding


class MLPProjector(Projector):
    """Linear–GELU–Linear, as SEPIT and LLaVA-1.5 project."""

    def __init__(self, encoder_dim: int, llm_dim: int, hidden: int | None = None) -> None:
        super().__init__()
        self.hidden = hidden or llm_dim
        self.proj = nn.Sequential(nn.Linear(encoder_dim, self.hidden), nn.GELU(), nn.Linear(self.hidden, llm_dim))

    def settings(self) -> dict[str, Any]:
        return {"hidden": self.hidden}

    def forward(self, states: torch.Tensor, padding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.proj(states), padding


@dataclass(frozen=True)
class QFormerSettings:
    """Q-Former sizes; `bert` (a BERT-family checkpoint directory) overrides the width, layers and vocabulary."""

    queries: int = 8
    cross_attention_frequency: int = 2
    hidden_size: int = 128
    layers: int = 2
    heads: int = 4
    intermediate_size: int = 256
    vocab_size: int = 30522
    max_positions: int = 512
    pad_token_id: int = 0
    dropout: float = 0.1  # hidden and attention dropout (BERT's)
    bert: str | None = None


class QFormerProjector(Projector):
    """BLIP-2 Q-Former with learned queries; `llm_proj` maps query outputs to the LLM width.

    `llm_dim=None` builds it without `llm_proj`, for stage 1, which trains the Q-Former alone.
    """

    def __init__(self, encoder_dim: int, llm_dim: int | None, settings: QFormerSettings | None = None) -> None:
        super().__init__()
        from transformers import Blip2QFormerConfig, Blip2QFormerModel
        from transformers.models.blip_2.modeling_blip_2 import Blip2TextEmbeddings

        s = settings or QFormerSettings()
        bert = _bert(s.bert) if s.bert else None
        source = bert.config if bert is not None else None
        config = Blip2QFormerConfig(
            vocab_size=source.vocab_size if source else s.vocab_size,
            hidden_size=source.hidden_size if source else s.hidden_size,
            num_hidden_layers=source.num_hidden_layers if source else s.layers,
            num_attention_heads=source.num_attention_heads if source else s.heads,
            intermediate_size=source.intermediate_size if source else s.intermediate_size,
            max_position_embeddings=source.max_position_embeddings if source else s.max_positions,
            cross_attention_frequency=s.cross_attention_frequency, encoder_hidden_size=encoder_dim,
            use_qformer_text_input=True, pad_token_id=source.pad_token_id if source else s.pad_token_id,
            hidden_dropout_prob=s.dropout, attention_probs_dropout_prob=s.dropout)
        self.num_tokens = s.queries
        self.ln_encoder = nn.LayerNorm(encoder_dim)
        self.qformer = Blip2QFormerModel(config)
        self.text_embeddings = Blip2TextEmbeddings(config)
        for table in (self.text_embeddings.word_embeddings, self.text_embeddings.position_embeddings):
            nn.init.normal_(table.weight, std=config.initializer_range)  # BERT's init, not nn.Embedding's N(0, 1)
        self.query_tokens = nn.Parameter(torch.zeros(1, s.queries, config.hidden_size))
        nn.init.normal_(self.query_tokens, std=config.initializer_range)
        self.llm_proj = nn.Linear(config.hidden_size, llm_dim) if llm_dim else None
        if bert is not None:
            init_from_bert(self, bert.state_dict())

    @property
    def width(self) -> int:
        return int(self.qformer.config.hidden_size)

    def settings(self) -> dict[str, Any]:
        c = self.qformer.config
        return asdict(QFormerSettings(queries=int(self.query_tokens.shape[1]),
                                      cross_attention_frequency=c.cross_attention_frequency,
                                      hidden_size=c.hidden_size, layers=c.num_hidden_layers,
                                      heads=c.num_attention_heads, intermediate_size=c.intermediate_size,
                                      vocab_size=c.vocab_size, max_positions=c.max_position_embeddings,
                                      pad_token_id=c.pad_token_id or 0, dropout=c.hidden_dropout_prob))

    def freeze_text_path(self) -> None:
        """Freeze what only text runs through (text embeddings, the text feed-forward of every layer): an LLM stage
        reads the queries alone, and DDP must not wait for gradients that never come."""
        self.text_embeddings.requires_grad_(False)
        for layer in self.qformer.encoder.layer:
            for name in ("intermediate", "output"):
                if hasattr(layer, name):
                    getattr(layer, name).requires_grad_(False)

    def query(self, states: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        """Query outputs (batch, queries, Q-Former width); cross-attention sees real positions only."""
        queries = self.query_tokens.expand(states.shape[0], -1, -1)
        return self.qformer(query_embeds=queries, encoder_hidden_states=self.ln_encoder(states),
                            encoder_attention_mask=self.cross_mask(padding, states.dtype)).last_hidden_state

    def cross_mask(self, padding: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """Additive (batch, 1, queries, positions) cross-attention mask: 0 on real positions, min on pads.

        Given whole, because transformers sizes a 2D mask by queries + text, which breaks a joint pass."""
        mask = torch.zeros(padding.shape[0], 1, self.query_tokens.shape[1], padding.shape[1], dtype=dtype,
                           device=padding.device)
        return mask.masked_fill(padding[:, None, None, :], torch.finfo(dtype).min)

    def forward(self, states: torch.Tensor, padding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.llm_proj is None:
            raise ValueError("this Q-Former was built without llm_proj (stage 1); give it the LLM width")
        soft = self.llm_proj(self.query(states, padding))
        return soft, torch.zeros(soft.shape[:2], dtype=torch.bool, device=soft.device)


def _bert(path: str):
    from transformers import BertModel

    if not Path(path).is_dir():
        raise MissingResourceError(f"no BERT checkpoint directory at {path!r} (config.json + weights)")
    try:
        return BertModel.from_pretrained(path, add_pooling_layer=False)
    except (OSError, ValueError) as err:
        raise MissingResourceError(f"could not load a BERT checkpoint from {path!r}: {err}") from None


def bert_to_qformer_keys(bert_keys: list[str], layers: int) -> dict[str, list[str]]:
    """For each BERT weight name, the Q-Former names it initialises (FFNs feed both the text and the query path)."""
    mapping: dict[str, list[str]] = {}
    for key in bert_keys:
        name = key.removeprefix("bert.")
        if name.startswith("embeddings.LayerNorm."):
            mapping[key] = ["qformer.layernorm." + name.rsplit(".", 1)[1]]
        elif name.startswith(("embeddings.word_embeddings.", "embeddings.position_embeddings.")):
            mapping[key] = ["text_embeddings." + name.removeprefix("embeddings.")]
        elif name.startswith("encoder.layer.") and int(name.split(".")[2]) < layers:
            inner = name.replace(".attention.self.", ".attention.attention.")
            target = "qformer." + inner
            if ".intermediate." in inner:
                mapping[key] = [target, target.replace(".intermediate.", ".intermediate_query.")]
            elif ".output." in inner and ".attention." not in inner:
                mapping[key] = [target, target.replace(".output.", ".output_query.")]
            else:
                mapping[key] = [target]
    return mapping


def init_from_bert(projector: QFormerProjector, bert_state: dict[str, torch.Tensor]) -> list[str]:
    """Copy a BERT's weights into the Q-Former; returns the Q-Former names left at their fresh init."""
    own = projector.state_dict()
    mapping = bert_to_qformer_keys(list(bert_state), projector.qformer.config.num_hidden_layers)
    filled: set[str] = set()
    with torch.no_grad():
        for key, targets in mapping.items():
            for target in targets:
                if target not in own or own[target].shape != bert_state[key].shape:
                    raise MissingResourceError(f"BERT weight {key} {tuple(bert_state[key].shape)} does not fit "
                                               f"Q-Former weight {target}")
                own[target].copy_(bert_state[key])
                filled.add(target)
    return sorted(k for k in own if k.startswith(("qformer.", "text_embeddings.")) and k not in filled)


PROJECTORS = ("linear", "mlp", "qformer")


def make_projector(kind: str, encoder_dim: int, llm_dim: int | None,
                   settings: dict[str, Any] | None = None) -> Projector:
    """A projector by name: "linear", "mlp" (settings: hidden) or "qformer" (settings: `QFormerSettings`).

    `llm_dim` None: a Q-Former without `llm_proj` (stage 1)."""
    settings = dict(settings or {})
    if llm_dim is None and kind != "qformer":
        raise ValueError(f"a {kind!r} projector needs the LLM width")
    try:
        if kind == "linear" and not settings:
            return LinearProjector(encoder_dim, int(llm_dim or 0))
        if kind == "mlp":
            return MLPProjector(encoder_dim, int(llm_dim or 0), **settings)
        if kind == "qformer":
            return QFormerProjector(encoder_dim, llm_dim, QFormerSettings(**settings))
    except TypeError as err:
        raise ValueError(f"projector {kind!r}: {err}") from None
    raise ValueError(f"unknown projector {kind!r} with settings {settings} (known: {', '.join(PROJECTORS)})")
