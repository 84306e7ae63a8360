# Classifying variable-length sequences: index sequences of different lengths padded with
# pad_sequence, packed with pack_padded_sequence (unsorted lengths), run through a bidirectional
# GRU, unpacked with pad_packed_sequence; the final hidden states of both directions feed a
# Linear classifier trained with Adam. Padding must not leak into the result.
# compat: rtol=1e-3 atol=1e-5
import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

rng = np.random.default_rng(59)
vocab, n_classes = 12, 3
lengths = [5, 2, 7, 3, 6, 4]
sequences = [torch.from_numpy(rng.integers(1, vocab, size=n)) for n in lengths]
targets = torch.tensor([int(s.sum()) % n_classes for s in sequences])


class SeqClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(vocab, 5, padding_idx=0)
        self.gru = nn.GRU(5, 8, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(16, n_classes)

    def forward(self, padded, lengths):
        packed = pack_padded_sequence(
            self.embedding(padded), lengths, batch_first=True, enforce_sorted=False
        )
        packed_out, hidden = self.gru(packed)
        out, out_lengths = pad_packed_sequence(packed_out, batch_first=True)
        features = torch.cat([hidden[-2], hidden[-1]], dim=1)
        return self.fc(features), out, out_lengths


padded = pad_sequence(sequences, batch_first=True, padding_value=0)
RESULTS["padded"] = padded.numpy()
model = SeqClassifier()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.4, size=tuple(p.shape)).astype(np.float32)))
    model.embedding.weight[0].zero_()
RESULTS["param_names"] = " ".join(n for n, _ in model.named_parameters())

length_tensor = torch.tensor(lengths)
logits, out, out_lengths = model(padded, length_tensor)
RESULTS["unpacked_shape"] = tuple(out.shape)
RESULTS["out_lengths"] = out_lengths.numpy()
RESULTS["padding_is_zero"] = str(bool((out[1, 2:] == 0).all()))
RESULTS["first_logits"] = logits.detach().numpy()

# The same sequence alone, without padding, gives the same answer.
alone, _, _ = model(sequences[1][None], torch.tensor([lengths[1]]))
RESULTS["padding_free"] = str(bool(torch.allclose(alone[0], logits[1], atol=1e-6)))

optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
criterion = nn.CrossEntropyLoss()
losses = []
for _ in range(8):
    optimizer.zero_grad()
    logits, _, _ = model(padded, length_tensor)
    loss = criterion(logits, targets)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
RESULTS["losses"] = np.array(losses)
RESULTS["embedding_pad_grad"] = model.embedding.weight.grad[0].numpy()
with torch.no_grad():
    RESULTS["predictions"] = model(padded, length_tensor)[0].argmax(1).numpy()
