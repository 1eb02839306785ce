//! Unknown-word replacement from attention, as OpenNMT's `-replace_unk`
//! (after Luong et al. 2015, "Addressing the rare word problem in NMT",
//! and Jean et al. 2015): a word outside the target vocabulary comes out as
//! `<unk>`; names, numbers and rare words usually pass through translation
//! unchanged, so the source token the decoder attended to most while
//! writing the `<unk>` is the best guess for it.
//!
//! ```text
//!   y_t = <unk>   →   y_t := x_j*,   j* = argmax_j α_tj   (j over the source, its <eos> excluded)
//! ```
//!
//! α is the model's attention: the single map of an RNN with attention, or,
//! for a Transformer, the cross-attention of the last decoder layer
//! averaged over its heads (the layer closest to the output; single heads
//! often specialise on other things than alignment). x_j is the source
//! token as written, before the source vocabulary turned it into `<unk>`
//! itself.

use super::AttentionMap;
use crate::data::Vocab;

/// The attention that aligns output steps with source tokens: the only
/// map, or the mean over heads of the last of several layers (maps named
/// `"<layer> head <h>"`, layers in order). None without any map.
pub fn alignment_attention(maps: &[AttentionMap]) -> Option<AttentionMap> {
    let layer = |m: &AttentionMap| match m.name.rsplit_once(" head ") {
        Some((layer, _)) => layer.to_string(),
        None => m.name.clone(),
    };
    let last = layer(maps.last()?);
    let heads: Vec<&AttentionMap> = maps.iter().filter(|m| layer(m) == last).collect();
    let (rows, cols) = (heads[0].rows, heads[0].cols);
    let mut weights = vec![0.0f32; rows * cols];
    for m in &heads {
        for (w, x) in weights.iter_mut().zip(&m.weights) {
            *w += x / heads.len() as f32;
        }
    }
    Some(AttentionMap {
        name: last,
        rows,
        cols,
        weights,
    })
}

/// `output` (target tokens, `<eos>` excluded) with every `<unk>` at step t
/// replaced by the `source` token (one per attention column, the source's
/// `<eos>` included) that row t of `attention` weights most; the first
/// such token on ties. A step without an attention row, or whose only
/// columns are `<eos>`, keeps its `<unk>`.
pub fn replace_unk(output: &[String], source: &[String], attention: &AttentionMap) -> Vec<String> {
    let unk = Vocab::SPECIALS[Vocab::UNK as usize];
    let eos = Vocab::SPECIALS[Vocab::EOS as usize];
    output
        .iter()
        .enumerate()
        .map(|(t, token)| {
            if token != unk || t >= attention.rows {
                return token.clone();
            }
            let mut best: Option<(usize, f32)> = None;
            for (j, &w) in attention.row(t).iter().enumerate() {
                let Some(word) = source.get(j) else { break };
                if word != eos && best.is_none_or(|(_, b)| w > b) {
                    best = Some((j, w));
                }
            }
            match best {
                Some((j, _)) => source[j].clone(),
                None => token.clone(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    fn map(name: &str, rows: usize, cols: usize, weights: &[f32]) -> AttentionMap {
        AttentionMap {
            name: name.into(),
            rows,
            cols,
            weights: weights.to_vec(),
        }
    }

    #[test]
    fn each_unk_takes_the_most_attended_source_token() {
        let source = strings("Tom mag Kowalczyk <eos>");
        let output = strings("Tom likes <unk>");
        #[rustfmt::skip]
        let att = map("attention", 4, 4, &[
            0.9, 0.05, 0.05, 0.0,  // Tom
            0.1, 0.8, 0.1, 0.0,    // likes
            0.1, 0.2, 0.6, 0.1,    // <unk> → Kowalczyk
            0.0, 0.0, 0.1, 0.9,    // <eos>
        ]);
        assert_eq!(
            replace_unk(&output, &source, &att),
            strings("Tom likes Kowalczyk")
        );
    }

    #[test]
    fn the_source_eos_is_never_copied_and_ties_take_the_first() {
        let source = strings("a b <eos>");
        let output = strings("<unk> <unk>");
        #[rustfmt::skip]
        let att = map("attention", 2, 3, &[
            0.1, 0.1, 0.8,  // mostly <eos>: the best real token, a tie → a
            0.2, 0.7, 0.1,
        ]);
        assert_eq!(replace_unk(&output, &source, &att), strings("a b"));
        // only <eos> to look at: the <unk> stays
        let att = map("attention", 1, 1, &[1.0]);
        assert_eq!(
            replace_unk(&strings("<unk>"), &strings("<eos>"), &att),
            strings("<unk>")
        );
    }

    #[test]
    fn tokens_without_unk_or_attention_rows_are_kept() {
        let att = map("attention", 1, 2, &[0.0, 1.0]);
        let source = strings("x y");
        assert_eq!(
            replace_unk(&strings("p <unk> <unk>"), &source, &att),
            strings("p <unk> <unk>") // rows 1 and 2 are missing
        );
        assert_eq!(replace_unk(&strings("<unk>"), &source, &att), strings("y"));
    }

    #[test]
    fn a_transformer_aligns_with_its_last_layer_averaged_over_heads() {
        let maps = [
            map("decoder.layers.0.multihead_attn head 0", 1, 2, &[1.0, 0.0]),
            map("decoder.layers.0.multihead_attn head 1", 1, 2, &[1.0, 0.0]),
            map("decoder.layers.1.multihead_attn head 0", 1, 2, &[0.2, 0.8]),
            map("decoder.layers.1.multihead_attn head 1", 1, 2, &[0.4, 0.6]),
        ];
        let a = alignment_attention(&maps).unwrap();
        assert_eq!(a.name, "decoder.layers.1.multihead_attn");
        assert_eq!((a.rows, a.cols), (1, 2));
        assert!((a.weights[0] - 0.3).abs() < 1e-6 && (a.weights[1] - 0.7).abs() < 1e-6);
        let single = [map("attention", 1, 2, &[0.5, 0.5])];
        assert_eq!(alignment_attention(&single).unwrap(), single[0]);
        assert!(alignment_attention(&[]).is_none());
    }
}
