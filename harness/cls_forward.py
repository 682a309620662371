"""Logits of a BERT sequence classifier without the last layer's work on tokens the head ignores.

``BertForSequenceClassification`` reads only the first ([CLS]) token of the last layer's
output. In that layer every other token still feeds the keys and values of [CLS]'s
attention, but its query, attention output, output projection and feed-forward block are
discarded. ``cls_logits`` computes the last layer for the first token only. For a 3-layer
MiniLM (hidden 384, intermediate 1536) that cuts the FLOPs per token by 28%.

The other layers run through the model's own modules. The last layer's linear maps run on
one row per text instead of all rows, so their rounding can differ from the full forward
pass in the last bits of fp32.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F


def supports_cls_logits(model: torch.nn.Module) -> bool:
    """Tell whether ``cls_logits`` applies: a BERT sequence classifier in eval mode with sdpa attention and absolute positions."""
    from transformers import BertForSequenceClassification

    config = model.config
    return (
        type(model) is BertForSequenceClassification
        and not model.training
        and getattr(config, "_attn_implementation", None) == "sdpa"
        and getattr(config, "position_embedding_type", "absolute") == "absolute"
        and not config.is_decoder
        and not getattr(config, "add_cross_attention", False)
        and getattr(model.bert, "pooler", None) is not None
    )


def cls_logits(model: torch.nn.Module, encoded: dict[str, torch.Tensor]) -> torch.Tensor:
    """Return the logits of ``model`` (a ``BertForSequenceClassification``) for a padded batch."""
    from transformers.modeling_attn_mask_utils import _prepare_4d_attention_mask_for_sdpa

    bert = model.bert
    input_ids = encoded["input_ids"]
    hidden = bert.embeddings(input_ids=input_ids, token_type_ids=encoded.get("token_type_ids"))
    attention_mask = encoded.get("attention_mask")
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    # The same mask as BertModel builds for sdpa: None when nothing is padded.
    mask = _prepare_4d_attention_mask_for_sdpa(attention_mask, hidden.dtype, tgt_len=input_ids.shape[1])

    layers = bert.encoder.layer
    for layer in layers[:-1]:
        hidden = layer(hidden, attention_mask=mask)[0]
    first = _last_layer_first_token(layers[-1], hidden, None if mask is None else mask[:, :, :1, :])
    pooled = bert.pooler(first)
    return model.classifier(model.dropout(pooled))


def _last_layer_first_token(layer: Any, hidden: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Run a ``BertLayer`` with the first token as the only query; returns shape (batch, 1, hidden)."""
    attention = layer.attention
    self_attention = attention.self
    batch = hidden.shape[0]
    heads, head_size = self_attention.num_attention_heads, self_attention.attention_head_size

    def split_heads(states: torch.Tensor) -> torch.Tensor:
        return states.view(batch, -1, heads, head_size).transpose(1, 2)

    query_input = hidden[:, :1]
    query = split_heads(self_attention.query(query_input))
    key = split_heads(self_attention.key(hidden))
    value = split_heads(self_attention.value(hidden))
    context = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=0.0)
    context = context.transpose(1, 2).reshape(batch, 1, self_attention.all_head_size)
    attention_output = attention.output(context, query_input)
    return layer.output(layer.intermediate(attention_output), attention_output)
