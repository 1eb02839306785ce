

# ---------------------------------------------------------------- the Transformer
#
#   x = PE(sqrt(d) * E_src x);   y = PE(sqrt(d) * E_tgt y_<t)     (then dropout)
#   m = Encoder(x, key padding of x)                  nn.TransformerEncoder, final norm
#   o = Decoder(y, m, causal, key padding of x)       nn.TransformerDecoder, final norm
#   p(y_t | y_<t, x) = softmax(W_out o_t + b_out)     W_out = E_tgt when tied
#
# Names as s2s: src_embed, tgt_embed (absent when shared), transformer.encoder.*,
# transformer.decoder.* (nn.Transformer's own), generator.weight (absent when
# tied), generator.bias.


def sinusoids(max_len, d):
    """PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(...):
    computed in float64 and rounded once, as s2s."""
    pos = torch.arange(max_len, dtype=torch.float64)[:, None]
    pair = torch.div(torch.arange(d), 2, rounding_mode="floor").to(torch.float64)
    freq = torch.exp(-math.log(10000.0) * (2 * pair) / d)  # [d]
    angle = pos * freq  # [max_len, d]
    even = (torch.arange(d) % 2 == 0)[None, :]
    return torch.where(even, torch.sin(angle), torch.cos(angle)).to(torch.float32)


class TiedGenerator(nn.Module):
    """The output layer whose weight is an embedding table: only the bias is
    its own (`generator.bias`)."""

    def __init__(self, vocab):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(vocab))

    def forward(self, o, weight):
        return F.linear(o, weight, self.bias)


class TransformerSeq2Seq(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, self.d_model, self.tie = c["d_model"], c["d_model"], c["tie_output"]
        self.max_len = c["max_len"]
        self.src_embed = nn.Embedding(c["src_vocab"], d, padding_idx=PAD)
        self.tgt_embed = None
        if not c["share_embeddings"]:
            self.tgt_embed = nn.Embedding(c["tgt_vocab"], d, padding_idx=PAD)

        def layer(kind):
            return kind(
                d,
                c["nhead"],
                dim_feedforward=c["dim_feedforward"],
                dropout=c["dropout"],
                activation="relu",
                layer_norm_eps=1e-5,
                batch_first=True,
                norm_first=c["norm_first"],
            )

        encoder = nn.TransformerEncoder(
            layer(nn.TransformerEncoderLayer),
            c["num_encoder_layers"],
            norm=nn.LayerNorm(d, eps=1e-5),
            enable_nested_tensor=False,
        )
        decoder = nn.TransformerDecoder(
            layer(nn.TransformerDecoderLayer),
            c["num_decoder_layers"],
            norm=nn.LayerNorm(d, eps=1e-5),
        )
        self.transformer = nn.Transformer(
            d, c["nhead"], custom_encoder=encoder, custom_decoder=decoder, batch_first=True
        )
        if self.tie:
            self.generator = TiedGenerator(c["tgt_vocab"])
        else:
            self.generator = nn.Linear(d, c["tgt_vocab"])
        self.dropout = nn.Dropout(c["dropout"])
        self.register_buffer("pe", sinusoids(self.max_len, d), persistent=False)

    def target_table(self):
        return self.tgt_embed if self.tgt_embed is not None else self.src_embed

    def max_decode_len(self):
        return self.max_len

    def embed(self, table, ids):
        """dropout(sqrt(d) * E ids + PE): [B, L] -> [B, L, d]."""
        length = ids.shape[1]
        if length > self.max_len:
            raise ValueError(
                f"{length} positions are past the positional table of {self.max_len} "
                "(config max_len)"
            )
        x = table(ids) * math.sqrt(self.d_model)
        return self.dropout(x + self.pe[:length])

    def encode(self, src, src_lens):
        pad = padding_mask(src_lens.to(src.device), src.shape[1])  # [B, S]
        x = self.embed(self.src_embed, src)
        return self.transformer.encoder(x, src_key_padding_mask=pad), pad

    def decode(self, memory, pad, ids):
        y = self.embed(self.target_table(), ids)  # [B, T, d]
        t = ids.shape[1]
        causal = torch.triu(torch.ones(t, t, dtype=torch.bool, device=ids.device), 1)
        o = self.transformer.decoder(y, memory, tgt_mask=causal, memory_key_padding_mask=pad)
        if self.tie:
            return self.generator(o, self.target_table().weight)
        return self.generator(o)  # [B, T, V]

    def forward(self, src, src_lens, tgt_in):
        """Teacher-forced logits [B, T, V]."""
        memory, pad = self.encode(src, src_lens)
        return self.decode(memory, pad, tgt_in)

    # Decoding: the state is the memory, its padding and the tokens so far;
    # each step runs the decoder over the whole prefix (the same numbers as
    # s2s's cached step, which gives what `forward` gives at that position).
    def start(self, src, src_lens):
        memory, pad = self.encode(src, src_lens)
        empty = torch.zeros(src.shape[0], 0, dtype=torch.long, device=src.device)
        return memory, pad, empty

    def step(self, state, prev):
        memory, pad, ys = state
        ys = torch.cat([ys, prev[:, None]], 1)  # [B, t+1]
        logits = self.decode(memory, pad, ys)[:, -1]  # [B, V]
        return logits, (memory, pad, ys)


def build(config):
    return TransformerSeq2Seq(config)
