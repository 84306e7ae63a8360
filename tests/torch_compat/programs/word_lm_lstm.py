# A word-level language model: Embedding -> 2-layer LSTM -> Linear over a tiny made-up corpus,
# batchified into columns, trained with truncated backprop through time (the hidden state is
# detached between chunks), gradient-norm clipping and a hand-written SGD update; perplexity.
# compat: rtol=1e-3 atol=1e-5
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

text = (
    "the cat sat on the mat . the dog sat on the log . a cat saw a dog . "
    "the dog saw the cat on the mat . a bird sat on the dog . the mat was red . "
) * 3


class Dictionary:
    def __init__(self):
        self.word2idx = {}
        self.idx2word = []

    def add_word(self, word):
        if word not in self.word2idx:
            self.idx2word.append(word)
            self.word2idx[word] = len(self.idx2word) - 1
        return self.word2idx[word]


vocab = Dictionary()
ids = torch.tensor([vocab.add_word(w) for w in text.split()], dtype=torch.int64)
ntokens = len(vocab.idx2word)
RESULTS["ntokens"] = ntokens
RESULTS["corpus_len"] = ids.numel()


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    return data.view(bsz, -1).t().contiguous()


bptt = 6


def get_batch(source, i):
    seq_len = min(bptt, len(source) - 1 - i)
    return source[i : i + seq_len], source[i + 1 : i + 1 + seq_len].reshape(-1)


class RNNModel(nn.Module):
    def __init__(self, ntoken, ninp, nhid, nlayers):
        super().__init__()
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=0.0)
        self.decoder = nn.Linear(nhid, ntoken)
        self.nhid, self.nlayers = nhid, nlayers

    def forward(self, tokens, hidden):
        emb = self.encoder(tokens)
        output, hidden = self.rnn(emb, hidden)
        decoded = self.decoder(output).view(-1, self.decoder.out_features)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        return (
            weight.new_zeros(self.nlayers, bsz, self.nhid),
            weight.new_zeros(self.nlayers, bsz, self.nhid),
        )


def repackage_hidden(h):
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


rng = np.random.default_rng(13)
train_data = batchify(ids, 4)
RESULTS["batchified_shape"] = tuple(train_data.shape)
model = RNNModel(ntokens, 8, 10, 2)
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.uniform(-0.3, 0.3, size=tuple(p.shape)).astype(np.float32)))
RESULTS["param_names"] = " ".join(n for n, _ in model.named_parameters())
criterion = nn.NLLLoss()
lr, clip = 5.0, 0.2
losses, norms, clipped_norms = [], [], []
for _ in range(4):
    model.train()
    hidden = model.init_hidden(4)
    for i in range(0, train_data.size(0) - 1, bptt):
        data, targets = get_batch(train_data, i)
        hidden = repackage_hidden(hidden)
        model.zero_grad()
        output, hidden = model(data, hidden)
        loss = criterion(output, targets)
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), clip)))
        clipped = torch.sqrt(sum(p.grad.pow(2).sum() for p in model.parameters()))
        clipped_norms.append(clipped.item())
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        losses.append(loss.item())
RESULTS["losses"] = np.array(losses)
RESULTS["grad_norms_before_clip"] = np.array(norms)
RESULTS["grad_norms_after_clip"] = np.array(clipped_norms)
RESULTS["hidden_detached"] = (
    f"{hidden[0].requires_grad} {repackage_hidden(hidden)[0].grad_fn is None}"
)

model.eval()
total_loss = 0.0
hidden = model.init_hidden(4)
with torch.no_grad():
    for i in range(0, train_data.size(0) - 1, bptt):
        data, targets = get_batch(train_data, i)
        output, hidden = model(data, hidden)
        total_loss += len(data) * criterion(output, targets).item()
        hidden = repackage_hidden(hidden)
val_loss = total_loss / (len(train_data) - 1)
RESULTS["val_loss"] = val_loss
RESULTS["perplexity"] = math.exp(val_loss)

# Greedy generation from "the".
word = torch.tensor([[vocab.word2idx["the"]]])
hidden = model.init_hidden(1)
generated = []
with torch.no_grad():
    for _ in range(8):
        output, hidden = model(word, hidden)
        word_idx = int(torch.argmax(output[-1]))
        word.fill_(word_idx)
        generated.append(vocab.idx2word[word_idx])
RESULTS["generated"] = " ".join(generated)
