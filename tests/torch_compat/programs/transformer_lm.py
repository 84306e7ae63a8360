# A small causal Transformer language model: Embedding scaled by sqrt(d_model), a sinusoidal
# positional encoding kept as a buffer (register_buffer), nn.TransformerEncoder with a square
# subsequent mask, a Linear head; a few Adam steps with dropout=0, then greedy decoding.
# compat: rtol=1e-3 atol=1e-5
import math

import numpy as np
import torch
from torch import nn


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=32):
        super().__init__()
        position = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
        freq = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
        pe = torch.zeros(1, max_len, d_model)
        pe[0, :, 0::2] = torch.sin(position * freq)
        pe[0, :, 1::2] = torch.cos(position * freq)
        self.register_buffer("pe", pe)

    def forward(self, x):
        return x + self.pe[:, : x.size(1)]


class TinyLM(nn.Module):
    def __init__(self, ntoken, d_model=16, nhead=2, d_hid=32, nlayers=2):
        super().__init__()
        self.d_model = d_model
        self.embedding = nn.Embedding(ntoken, d_model)
        self.pos_encoder = PositionalEncoding(d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead, d_hid, dropout=0.0, batch_first=True)
        self.transformer_encoder = nn.TransformerEncoder(layer, nlayers)
        self.linear = nn.Linear(d_model, ntoken)

    def forward(self, src, src_mask=None):
        x = self.embedding(src) * math.sqrt(self.d_model)
        x = self.pos_encoder(x)
        x = self.transformer_encoder(x, src_mask)
        return self.linear(x)


seq_len, ntoken = 7, 10
mask = nn.Transformer.generate_square_subsequent_mask(seq_len)
by_hand = torch.triu(torch.full((seq_len, seq_len), float("-inf")), diagonal=1)
RESULTS["mask"] = mask.numpy()
RESULTS["mask_equals_triu"] = str(bool(torch.equal(mask, by_hand)))

rng = np.random.default_rng(4)
model = TinyLM(ntoken)
with torch.no_grad():
    for name, p in model.named_parameters():
        if p.dim() > 1:
            p.copy_(torch.from_numpy(rng.normal(0, 0.2, size=tuple(p.shape)).astype(np.float32)))
        elif name.endswith("norm1.weight") or name.endswith("norm2.weight"):
            p.fill_(1.0)
        else:
            p.copy_(torch.from_numpy(rng.normal(0, 0.05, size=tuple(p.shape)).astype(np.float32)))
RESULTS["param_names"] = " ".join(n for n, _ in model.named_parameters())
RESULTS["buffers"] = " ".join(n for n, _ in model.named_buffers())
RESULTS["pe_in_state_dict"] = str("pos_encoder.pe" in model.state_dict())
RESULTS["pe"] = model.pos_encoder.pe[0, :4].numpy()

# Sequences that count up modulo ntoken from random starts: next token = this token + 1.
starts = rng.integers(0, ntoken, size=(6, 1))
tokens = torch.from_numpy((starts + np.arange(seq_len + 1)[None, :]) % ntoken)
src, target = tokens[:, :-1], tokens[:, 1:]
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
losses = []
model.train()
for _ in range(6):
    optimizer.zero_grad()
    output = model(src, mask)
    loss = criterion(output.view(-1, ntoken), target.reshape(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
    optimizer.step()
    losses.append(loss.item())
RESULTS["losses"] = np.array(losses)

model.eval()
with torch.no_grad():
    logits = model(src[:2], mask)
    RESULTS["eval_logits"] = logits[:, -2:].numpy()
    # Causality: changing the last input token leaves earlier positions unchanged.
    changed = src[:2].clone()
    changed[:, -1] = (changed[:, -1] + 3) % ntoken
    RESULTS["causal"] = str(bool(torch.allclose(model(changed, mask)[:, :-1], logits[:, :-1])))
    generated = src[:1, :1]
    for _ in range(5):
        n = generated.size(1)
        step_mask = nn.Transformer.generate_square_subsequent_mask(n)
        next_token = model(generated, step_mask)[:, -1].argmax(-1, keepdim=True)
        generated = torch.cat([generated, next_token], dim=1)
RESULTS["generated"] = generated.numpy()
