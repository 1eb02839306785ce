#!/usr/bin/env python3
"""Exports an s2s Transformer checkpoint as a CTranslate2 model directory.

    python3 scripts/export_ctranslate2.py runs/m30k ct2-m30k
    python3 scripts/export_ctranslate2.py runs/m30k/best ct2-m30k --force

The input is a run directory (its best/ checkpoint, else last/, as `s2s
translate` picks) or a checkpoint directory: model.safetensors, config.json,
src_vocab.json and tgt_vocab.json (crates/seq2seq/src/train/checkpoint.rs).
The output is what `ctranslate2.Translator(DIR)` loads: model.bin,
config.json and the vocabularies, written through CTranslate2's own
specification API (`ctranslate2.specs.TransformerSpec`, `spec.save`), so the
file format is the library's, not ours.

How our model maps onto CTranslate2's Transformer
(crates/seq2seq/src/models/transformer.rs, nn/transformer*.rs):

* Embeddings: ours multiply by sqrt(d) (CTranslate2's `scale_embeddings`)
  and add a sinusoid table whose columns interleave sin and cos,
  PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(...)
  (nn/positional.rs). CTranslate2's built-in table is tensor2tensor's
  (all sines, then all cosines, another frequency step), so ours is written
  into `position_encodings.encodings`: row t is added at position t, from 0,
  on both sides, as ours does.
* Layers: PyTorch's names. `self_attn.in_proj_weight` [3d, d] is exactly
  CTranslate2's fused query/key/value projection of a self-attention; for the
  cross-attention, its first d rows are the query projection and the other
  2d the fused key/value one. norm1/norm2(/norm3) go to the layer norms of
  the sub-layers in order. Pre-norm (`norm_first`) and post-norm are the
  same flag in both.
* Final norms: our stacks always end in a LayerNorm (encoder.norm,
  decoder.norm), as torch.nn.Transformer builds them, for post-norm too.
  CTranslate2's spec declares them only for pre-norm, but its C++ applies
  `encoder/layer_norm` and `decoder/layer_norm` whenever they exist, so a
  post-norm model is declared as pre-norm (which adds them) and then has its
  `pre_norm` flags turned off.
* Output: `generator.weight` (or the target table, when tied) and
  `generator.bias` are the decoder's projection.
* Tokens: the vocabularies are our token lists, in our id order, so id i is
  token i on both sides. Ours reads the source with `<eos>` appended (the
  caller passes it, as our tokenizer does); the decoder starts from `<bos>`
  and stops at `<eos>`; unknown words are `<unk>`.

LayerNorm epsilon is ours (1e-5). Needs `pip install ctranslate2` (numpy
comes with it); the safetensors file is read with numpy alone.
"""

import argparse
import json
import os
import shutil
import struct
import sys
import tempfile

import numpy as np

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SAFETENSORS_DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16}


def checkpoint_dir(path):
    """The checkpoint a run or checkpoint directory stands for (best/, else last/)."""
    if os.path.isfile(os.path.join(path, "model.safetensors")):
        return path
    for name in ("best", "last"):
        sub = os.path.join(path, name)
        if os.path.isfile(os.path.join(sub, "model.safetensors")):
            return sub
    sys.exit(f"{path}: neither a checkpoint (no model.safetensors) nor a run "
             "directory with best/ or last/")


def read_safetensors(path):
    """name -> numpy array, from a safetensors file (little-endian)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        sys.exit(f"{path}: too short for a safetensors file")
    (header_len,) = struct.unpack("<Q", data[:8])
    if 8 + header_len > len(data):
        sys.exit(f"{path}: header of {header_len} bytes runs past the file")
    header = json.loads(data[8:8 + header_len])
    base = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = SAFETENSORS_DTYPES.get(info["dtype"])
        if dtype is None:
            sys.exit(f"{path}: tensor {name!r} has dtype {info['dtype']}, not a float type")
        start, end = info["data_offsets"]
        array = np.frombuffer(data[base + start:base + end], dtype=np.dtype(dtype).newbyteorder("<"))
        expected = int(np.prod(info["shape"], dtype=np.int64))
        if array.size != expected:
            sys.exit(f"{path}: tensor {name!r} holds {array.size} values, shape {info['shape']}")
        tensors[name] = array.reshape(info["shape"]).astype(np.float32)
    return tensors


def read_vocab(path):
    with open(path, encoding="utf-8") as f:
        file = json.load(f)
    if file.get("format") != "s2s-vocab":
        sys.exit(f"{path}: not an s2s vocabulary (format {file.get('format')!r})")
    tokens = file["tokens"]
    if tokens[:4] != [PAD, BOS, EOS, UNK]:
        sys.exit(f"{path}: the first four tokens must be {[PAD, BOS, EOS, UNK]}")
    return tokens


def position_table(max_len, d):
    """Our sinusoid table [max_len, d], as nn/positional.rs computes it: in
    f64, the pair i = j // 2 sharing the frequency 1 / 10000^(2i/d), sin on
    even columns and cos on odd ones, rounded once to f32."""
    j = np.arange(d)
    freq = np.exp(-np.log(10000.0) * (2 * (j // 2)).astype(np.float64) / d)
    angle = np.arange(max_len, dtype=np.float64)[:, None] * freq[None, :]
    table = np.where(j % 2 == 0, np.sin(angle), np.cos(angle))
    return table.astype(np.float32)


class Weights:
    """The state_dict, each name taken at most once, so that nothing is left over unseen."""

    def __init__(self, tensors, path):
        self.tensors = dict(tensors)
        self.path = path

    def take(self, name, shape=None):
        if name not in self.tensors:
            sys.exit(f"{self.path}: no tensor {name!r} (is this a Transformer checkpoint?)")
        t = self.tensors.pop(name)
        if shape is not None and list(t.shape) != list(shape):
            sys.exit(f"{self.path}: {name!r} has shape {list(t.shape)}, expected {list(shape)}")
        return t

    def has(self, name):
        return name in self.tensors


def set_linear(spec, weight, bias):
    spec.weight = weight
    if bias is not None:
        spec.bias = bias


def set_norm(spec, w, prefix, d):
    spec.gamma = w.take(prefix + ".weight", [d])
    spec.beta = w.take(prefix + ".bias", [d])


def set_self_attention(spec, w, prefix, d):
    set_linear(spec.linear[0], w.take(prefix + ".in_proj_weight", [3 * d, d]),
               w.take(prefix + ".in_proj_bias", [3 * d]))
    set_linear(spec.linear[1], w.take(prefix + ".out_proj.weight", [d, d]),
               w.take(prefix + ".out_proj.bias", [d]))


def set_cross_attention(spec, w, prefix, d):
    weight = w.take(prefix + ".in_proj_weight", [3 * d, d])
    bias = w.take(prefix + ".in_proj_bias", [3 * d])
    set_linear(spec.linear[0], weight[:d], bias[:d])  # queries from the decoder
    set_linear(spec.linear[1], weight[d:], bias[d:])  # keys and values from the memory
    set_linear(spec.linear[2], w.take(prefix + ".out_proj.weight", [d, d]),
               w.take(prefix + ".out_proj.bias", [d]))


def set_ffn(spec, w, prefix, ff, d):
    set_linear(spec.linear_0, w.take(prefix + ".linear1.weight", [ff, d]),
               w.take(prefix + ".linear1.bias", [ff]))
    set_linear(spec.linear_1, w.take(prefix + ".linear2.weight", [d, ff]),
               w.take(prefix + ".linear2.bias", [d]))


def build_spec(ckpt):
    """The filled TransformerSpec of the checkpoint directory `ckpt`."""
    from ctranslate2.specs import common_spec, transformer_spec

    with open(os.path.join(ckpt, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    if config.get("model") != "transformer":
        sys.exit(f"{ckpt}/config.json: model {config.get('model')!r}; only the "
                 "Transformer has a CTranslate2 counterpart")
    d, heads, ff = config["d_model"], config["nhead"], config["dim_feedforward"]
    n_enc, n_dec = config["num_encoder_layers"], config["num_decoder_layers"]
    pre_norm = bool(config["norm_first"])
    src_tokens = read_vocab(os.path.join(ckpt, "src_vocab.json"))
    tgt_tokens = read_vocab(os.path.join(ckpt, "tgt_vocab.json"))
    if len(src_tokens) != config["src_vocab"] or len(tgt_tokens) != config["tgt_vocab"]:
        sys.exit(f"{ckpt}: vocabularies of {len(src_tokens)}/{len(tgt_tokens)} tokens, "
                 f"config.json says {config['src_vocab']}/{config['tgt_vocab']}")

    path = os.path.join(ckpt, "model.safetensors")
    w = Weights(read_safetensors(path), path)
    # Declared as pre-norm, which gives both stacks their final norm; the
    # layers' specs are the same either way, and the flag the C++ reads to
    # order norm and residual is set to ours after (see the module doc).
    spec = transformer_spec.TransformerSpec.from_config(
        (n_enc, n_dec), heads, pre_norm=True, activation=common_spec.Activation.RELU)
    enc, dec = spec.encoder, spec.decoder
    enc.pre_norm = pre_norm
    dec.pre_norm = pre_norm

    src_table = w.take("src_embed.weight", [len(src_tokens), d])
    tgt_table = src_table if config["share_embeddings"] else w.take(
        "tgt_embed.weight", [len(tgt_tokens), d])
    positions = position_table(config["max_len"], d)
    enc.embeddings[0].weight = src_table
    enc.position_encodings.encodings = positions
    dec.embeddings.weight = tgt_table
    dec.position_encodings.encodings = positions

    for i, layer in enumerate(enc.layer):
        p = f"transformer.encoder.layers.{i}"
        set_self_attention(layer.self_attention, w, p + ".self_attn", d)
        set_norm(layer.self_attention.layer_norm, w, p + ".norm1", d)
        set_ffn(layer.ffn, w, p, ff, d)
        set_norm(layer.ffn.layer_norm, w, p + ".norm2", d)
    set_norm(enc.layer_norm, w, "transformer.encoder.norm", d)

    for i, layer in enumerate(dec.layer):
        p = f"transformer.decoder.layers.{i}"
        set_self_attention(layer.self_attention, w, p + ".self_attn", d)
        set_norm(layer.self_attention.layer_norm, w, p + ".norm1", d)
        set_cross_attention(layer.attention, w, p + ".multihead_attn", d)
        set_norm(layer.attention.layer_norm, w, p + ".norm2", d)
        set_ffn(layer.ffn, w, p, ff, d)
        set_norm(layer.ffn.layer_norm, w, p + ".norm3", d)
    set_norm(dec.layer_norm, w, "transformer.decoder.norm", d)

    out_weight = tgt_table if config["tie_output"] else w.take(
        "generator.weight", [len(tgt_tokens), d])
    set_linear(dec.projection, out_weight, w.take("generator.bias", [len(tgt_tokens)]))
    if w.tensors:
        sys.exit(f"{path}: tensors with no place in the CTranslate2 model: "
                 f"{sorted(w.tensors)[:5]}")

    spec.register_source_vocabulary(src_tokens)
    spec.register_target_vocabulary(tgt_tokens)
    spec.config.unk_token = UNK
    spec.config.bos_token = BOS
    spec.config.eos_token = EOS
    spec.config.decoder_start_token = BOS
    spec.config.layer_norm_epsilon = 1e-5
    return spec, config


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="an s2s run directory or checkpoint directory")
    parser.add_argument("out", help="the CTranslate2 model directory to write")
    parser.add_argument("--force", action="store_true", help="replace OUT if it exists")
    parser.add_argument("--quantization", default=None,
                        help="store the weights quantized (int8, int8_float32, float16...); "
                             "default float32 (compute_type can still pick int8 at load)")
    args = parser.parse_args()

    try:
        import ctranslate2  # noqa: F401
    except ImportError:
        sys.exit("ctranslate2 is not importable: pip install ctranslate2")

    ckpt = checkpoint_dir(args.model)
    if os.path.exists(args.out) and not args.force:
        sys.exit(f"{args.out} exists (--force replaces it)")
    spec, config = build_spec(ckpt)
    spec.validate()
    spec.optimize(quantization=args.quantization)

    # Written beside the destination, then renamed: never half a model.
    parent = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".ct2-export-", dir=parent)
    try:
        spec.save(staging)
        if os.path.exists(args.out):
            shutil.rmtree(args.out)
        os.rename(staging, args.out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    norm = "pre-norm" if config["norm_first"] else "post-norm"
    print(f"{ckpt} -> {args.out}: Transformer d {config['d_model']}, "
          f"{config['num_encoder_layers']}+{config['num_decoder_layers']} layers, "
          f"{config['nhead']} heads, ff {config['dim_feedforward']}, {norm}, "
          f"vocab {config['src_vocab']} -> {config['tgt_vocab']}")


if __name__ == "__main__":
    main()
