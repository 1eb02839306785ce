

# ---------------------------------------------------------------- attention (Bahdanau, Luong)
#
#   h_1 ... h_S = Encoder(dropout(E_src x))          memory [B, S, D*H]
#   s_0 = tanh(W_bridge [h->_S; h<-_1])              per layer (an LSTM's c: [c->; c<-])
#   Bahdanau:  c_t = Attn(s_{t-1}, h);  s_t = Dec([E y_{t-1}; c_t], s_{t-1})
#              o_t = W_pre dropout([E y_{t-1}; s_t; c_t])
#   Luong:     s_t = Dec([E y_{t-1}; o_{t-1}], s_{t-1})   (input feeding; o_0 = 0)
#              c_t = Attn(s_t, h);  o_t = tanh(W_c [c_t; s_t])
#   p(y_t | y_<t, x) = softmax(W_out dropout(o_t) + b_out)
#
#   score(q, k_s) = v^T tanh(W_q q + W_k k_s)     bahdanau: query_layer, key_layer, energy_layer
#                 = q^T k_s                       dot
#                 = q^T W_a k_s                   general: attn [Hq, Hk]
#                 = v^T tanh(W_a [q; k_s])        concat: attn [A, Hq + Hk], v
#   alpha = softmax_s(score), -inf at padded s;   c = sum_s alpha_s k_s
#
# Names as s2s: src_embed, tgt_embed, encoder.*, bridge, attention.*,
# decoder.*, pre_output (Bahdanau) or concat (Luong), generator.


class Attention(nn.Module):
    def __init__(self, score, query_size, key_size, attn_size):
        super().__init__()
        self.score = score
        if score == "bahdanau":
            self.query_layer = nn.Linear(query_size, attn_size, bias=False)
            self.key_layer = nn.Linear(key_size, attn_size, bias=False)
            self.energy_layer = nn.Linear(attn_size, 1, bias=False)
        elif score == "general":
            self.attn = nn.Linear(key_size, query_size, bias=False)
        elif score == "concat":
            self.attn = nn.Linear(query_size + key_size, attn_size, bias=False)
            self.v = nn.Linear(attn_size, 1, bias=False)
        elif score != "dot":
            raise ValueError(f"unknown attention score {score!r}")

    def project_keys(self, memory):
        """The part of the score that depends only on the source."""
        if self.score == "bahdanau":
            return self.key_layer(memory)  # W_k k_s: [B, S, A]
        if self.score == "general":
            return self.attn(memory)  # W_a k_s: [B, S, Hq]
        if self.score == "concat":
            hk = memory.shape[-1]
            return memory @ self.attn.weight[:, -hk:].t()  # W_a,k k_s: [B, S, A]
        return None

    def forward(self, q, memory, projected, pad):
        """q [B, Tq, Hq], memory [B, S, Hk], pad [B, S] (True at padding) ->
        (context [B, Tq, Hk], weights [B, Tq, S])."""
        if self.score == "bahdanau":
            a = self.query_layer(q)  # [B, Tq, A]
            scores = self.energy_layer(torch.tanh(a[:, :, None] + projected[:, None])).squeeze(-1)
        elif self.score == "dot":
            scores = q @ memory.transpose(1, 2)
        elif self.score == "general":
            scores = q @ projected.transpose(1, 2)
        else:
            a = q @ self.attn.weight[:, : q.shape[-1]].t()  # W_a,q q_t: [B, Tq, A]
            scores = self.v(torch.tanh(a[:, :, None] + projected[:, None])).squeeze(-1)
        scores = scores.masked_fill(pad[:, None, :], float("-inf"))  # [B, Tq, S]
        weights = scores.softmax(-1)
        return weights @ memory, weights


def join_directions(state, directions):
    """[L*D, B, H] -> [L, B, D*H]: each layer's [h->; h<-]."""
    ld, b, h = state.shape
    layers = ld // directions
    return state.view(layers, directions, b, h).permute(0, 2, 1, 3).reshape(layers, b, directions * h)


class AttnSeq2Seq(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.score = c["score"]
        self.luong = self.score != "bahdanau"
        self.input_feeding = c["input_feeding"] and self.luong
        self.teacher_forcing = c["teacher_forcing"]
        self.directions = 2 if c["bidirectional"] else 1
        e, h, layers, p = c["embed_size"], c["hidden_size"], c["num_layers"], c["dropout"]
        hk = hd = self.directions * h
        self.src_embed = nn.Embedding(c["src_vocab"], e, padding_idx=PAD)
        self.tgt_embed = nn.Embedding(c["tgt_vocab"], e, padding_idx=PAD)
        self.encoder = recurrent(c["cell"], e, h, layers, p, c["bidirectional"])
        self.bridge = nn.Linear(hk, hd)
        self.attention = Attention(self.score, hd, hk, c["attn_size"])
        dec_input = e + hk if not self.luong else (e + hd if self.input_feeding else e)
        self.decoder = recurrent(c["cell"], dec_input, hd, layers, p)
        if self.luong:
            self.concat = nn.Linear(hk + hd, hd, bias=False)
        else:
            self.pre_output = nn.Linear(e + hd + hk, hd, bias=False)
        self.generator = nn.Linear(hd, c["tgt_vocab"])
        self.dropout = nn.Dropout(p)

    def max_decode_len(self):
        return None

    def encode(self, src, src_lens):
        """(memory, its projected keys, padding [B, S], decoder state, o_0)."""
        x = self.dropout(self.src_embed(src))  # [B, S, E]
        memory, last = run_packed(self.encoder, x, src_lens)  # [B, S, D*H]
        pad = padding_mask(src_lens.to(src.device), src.shape[1])
        if isinstance(last, tuple):
            h, c = last
            state = (
                torch.tanh(self.bridge(join_directions(h, self.directions))).contiguous(),
                join_directions(c, self.directions).contiguous(),
            )
        else:
            state = torch.tanh(self.bridge(join_directions(last, self.directions))).contiguous()
        feed = None
        if self.input_feeding:
            feed = torch.zeros(src.shape[0], self.decoder.hidden_size, device=src.device)
        return memory, self.attention.project_keys(memory), pad, state, feed

    def decode_step(self, y, memory, projected, pad, state, feed):
        """One step from the embedded previous token y [B, E] -> (o_t [B, Hd],
        weights [B, S], next state, next o_{t-1} for input feeding)."""
        if not self.luong:
            c, w = self.attention(top(state)[:, None], memory, projected, pad)  # c [B, 1, Hk]
            c, w = c[:, 0], w[:, 0]
            s, state = self.decoder(torch.cat([y, c], -1)[:, None], state)
            s = s[:, 0]  # [B, Hd]
            o = self.pre_output(self.dropout(torch.cat([y, s, c], -1)))
            return o, w, state, None
        x = torch.cat([y, feed], -1) if feed is not None else y
        s, state = self.decoder(x[:, None], state)  # [B, 1, Hd]
        c, w = self.attention(s, memory, projected, pad)
        o = torch.tanh(self.concat(torch.cat([c, s], -1)))[:, 0]  # [B, Hd]
        return o, w[:, 0], state, (o if feed is not None else None)

    def forward(self, src, src_lens, tgt_in):
        """Teacher-forced logits [B, T, V] (scheduled sampling in training when
        teacher_forcing is below 1, as s2s: one draw per step for the batch)."""
        memory, projected, pad, state, feed = self.encode(src, src_lens)
        y = self.dropout(self.tgt_embed(tgt_in))  # [B, T, E]
        forced = not self.training or self.teacher_forcing >= 1.0
        if forced and self.luong and not self.input_feeding:
            s, _ = self.decoder(y, state)  # [B, T, Hd]
            c, _ = self.attention(s, memory, projected, pad)
            o = torch.tanh(self.concat(torch.cat([c, s], -1)))
            return self.generator(self.dropout(o))
        steps = y.shape[1]
        features, prediction = [], None
        for t, gold in enumerate(unbind_steps(y)):
            y_t = gold
            if prediction is not None and torch.rand(()).item() >= self.teacher_forcing:
                y_t = self.dropout(self.tgt_embed(prediction))
            prediction = None
            o, _, state, feed = self.decode_step(y_t, memory, projected, pad, state, feed)
            if not forced and t + 1 < steps:
                prediction = self.generator(o).argmax(-1).detach()
            features.append(o)
        return self.generator(self.dropout(torch.stack(features, 1)))

    def start(self, src, src_lens):
        return self.encode(src, src_lens)

    def step(self, st, prev):
        memory, projected, pad, state, feed = st
        o, _, state, feed = self.decode_step(self.tgt_embed(prev), memory, projected, pad, state, feed)
        return self.generator(o), (memory, projected, pad, state, feed)


def build(config):
    return AttnSeq2Seq(config)
