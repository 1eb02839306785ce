

# ---------------------------------------------------------------- recurrent layers
#
# nn.GRU and nn.LSTM are s2s's GRU (reset-after) and LSTM (gates i, f, g, o),
# with the same parameter names (weight_ih_l0, weight_hh_l1_reverse, ...).
# Sources of different lengths go through pack_padded_sequence, which is what
# s2s computes: the state stops at a row's last real token, the reverse
# direction starts there, and padded outputs are zero.


def recurrent(cell, input_size, hidden_size, layers, dropout, bidirectional=False):
    kind = {"gru": nn.GRU, "lstm": nn.LSTM}[cell]
    return kind(
        input_size,
        hidden_size,
        num_layers=layers,
        dropout=dropout if layers > 1 else 0.0,  # between layers only, as s2s
        bidirectional=bidirectional,
        batch_first=True,
    )


def run_packed(rnn, x, lens):
    """`x` [B, S, I] of rows `lens` long -> (outputs [B, S, D*H], zero past
    each row's end; the final state: h, or (h, c), each [L*D, B, H])."""
    packed = nn.utils.rnn.pack_padded_sequence(
        x, lens.cpu(), batch_first=True, enforce_sorted=False
    )
    out, state = rnn(packed)
    out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return out, state


def top(state):
    """The top layer's h [B, H] of a unidirectional state."""
    h = state[0] if isinstance(state, tuple) else state
    return h[-1]


def unbind_steps(y):
    return [y[:, t] for t in range(y.shape[1])]
