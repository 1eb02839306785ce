

# ---------------------------------------------------------------- Sutskever et al. 2014
#
#   (h_S, c_S) = Encoder(dropout(E_src x))     (source reversed if asked)
#   s_0 = (h_S, c_S);   s_t = Decoder(dropout(E_tgt y_{t-1}), s_{t-1})
#   p(y_t | y_<t, x) = softmax(W_out dropout(s_t) + b_out)
#
# Names as s2s: src_embed, tgt_embed, encoder.*, decoder.* (nn.GRU / nn.LSTM
# names), generator.


def reverse_rows(src, lens):
    """Each row's real tokens reversed in place, padding left at the end."""
    s = src.shape[1]
    t = torch.arange(s, device=src.device)[None, :]
    n = lens.to(src.device)[:, None]
    order = torch.where(t < n, n - 1 - t, t)
    return src.gather(1, order)


class RnnSeq2Seq(nn.Module):
    def __init__(self, c):
        super().__init__()
        e, h = c["embed_size"], c["hidden_size"]
        self.reverse_source = c["reverse_source"]
        self.teacher_forcing = c["teacher_forcing"]
        self.src_embed = nn.Embedding(c["src_vocab"], e, padding_idx=PAD)
        self.tgt_embed = nn.Embedding(c["tgt_vocab"], e, padding_idx=PAD)
        self.encoder = recurrent(c["cell"], e, h, c["num_layers"], c["dropout"])
        self.decoder = recurrent(c["cell"], e, h, c["num_layers"], c["dropout"])
        self.generator = nn.Linear(h, c["tgt_vocab"])
        self.dropout = nn.Dropout(c["dropout"])

    def max_decode_len(self):
        return None

    def encode(self, src, src_lens):
        if self.reverse_source:
            src = reverse_rows(src, src_lens)
        x = self.dropout(self.src_embed(src))  # [B, S, E]
        _, state = run_packed(self.encoder, x, src_lens)
        return state

    def generate(self, h):
        return self.generator(self.dropout(h))

    def forward(self, src, src_lens, tgt_in):
        """Teacher-forced logits [B, T, V]. In training with teacher_forcing
        below 1, each step feeds the model's own last prediction instead of the
        gold token with probability 1 - teacher_forcing (one draw per step)."""
        state = self.encode(src, src_lens)
        y = self.dropout(self.tgt_embed(tgt_in))  # [B, T, E]
        if not self.training or self.teacher_forcing >= 1.0:
            out, _ = self.decoder(y, state)  # [B, T, H]
            return self.generate(out)
        logits, prediction = [], None
        for gold in unbind_steps(y):
            x = gold
            if prediction is not None and torch.rand(()).item() >= self.teacher_forcing:
                x = self.dropout(self.tgt_embed(prediction))
            out, state = self.decoder(x[:, None], state)
            step = self.generate(out[:, 0])  # [B, V]
            prediction = step.argmax(-1).detach()
            logits.append(step)
        return torch.stack(logits, 1)

    def start(self, src, src_lens):
        return self.encode(src, src_lens)

    def step(self, state, prev):
        x = self.tgt_embed(prev)[:, None]  # [B, 1, E]
        out, state = self.decoder(x, state)
        return self.generator(out[:, 0]), state


def build(config):
    return RnnSeq2Seq(config)
