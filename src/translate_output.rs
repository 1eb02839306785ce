//! The machine-readable outputs of `s2s translate`: n-best lines and JSON
//! Lines (the formats are documented in docs/translating.md).
//!
//! n-best, one line per hypothesis, best first, as Moses and Marian write
//! them (ID is the input line, counted from 0; SCORE = LOGP / lp(Y), the
//! quantity the beam ranks by, equal to LOGP without a length penalty):
//!
//! ```text
//!   ID ||| TEXT ||| log_prob=LOGP ||| SCORE
//! ```
//!
//! JSON, one object per input line:
//!
//! ```text
//!   {"id", "source", "source_tokens", "tokens", "text", "log_prob", "score",
//!    "nbest": [{"tokens", "text", "log_prob", "score"}, …]      (with --nbest)
//!    "attention": [{"name", "weights": [[…], …]}, …]}          (output × source)
//! ```

use seq2seq::decode::AttentionMap;
use serde_json::{json, Value};

/// One hypothesis as it is printed.
#[derive(Clone, Debug, PartialEq)]
pub struct Translation {
    /// The output tokens, one per output id (`<eos>` excluded), after
    /// `<unk>` replacement when asked.
    pub tokens: Vec<String>,
    /// The detokenized text.
    pub text: String,
    /// log P(Y | X).
    pub log_prob: f32,
    /// log P(Y | X) / lp(Y).
    pub score: f32,
}

/// The n-best line of hypothesis `t` of input line `id`.
pub fn nbest_line(id: usize, t: &Translation) -> String {
    // Moses' separator is a field delimiter: one inside the text would
    // shift every field after it.
    let text = t.text.replace("|||", "| | |");
    format!(
        "{id} ||| {text} ||| log_prob={} ||| {}",
        t.log_prob, t.score
    )
}

/// The JSON object of input line `id`: `source` as given, the tokens the
/// model read, its hypotheses best first (none for an empty line), the
/// n-best list when `with_nbest`, and the attention maps of the best.
pub fn json_line(
    id: usize,
    source: &str,
    source_tokens: &[String],
    hyps: &[Translation],
    attention: &[AttentionMap],
    with_nbest: bool,
) -> String {
    let best = hyps.first();
    let mut line = json!({
        "id": id,
        "source": source,
        "source_tokens": source_tokens,
        "tokens": best.map_or(&[][..], |t| &t.tokens[..]),
        "text": best.map_or("", |t| &t.text),
        "log_prob": best.map(|t| number(t.log_prob)),
        "score": best.map(|t| number(t.score)),
    });
    if with_nbest {
        line["nbest"] = hyps
            .iter()
            .map(|t| {
                json!({
                    "tokens": t.tokens,
                    "text": t.text,
                    "log_prob": number(t.log_prob),
                    "score": number(t.score),
                })
            })
            .collect();
    }
    line["attention"] = attention
        .iter()
        .map(|m| {
            let rows: Vec<Value> = (0..m.rows)
                .map(|t| m.row(t).iter().map(|&w| number(w)).collect())
                .collect();
            json!({"name": m.name, "weights": rows})
        })
        .collect();
    line.to_string()
}

/// An f32 as the shortest decimal that reads back as it (`0.6`, not
/// `0.6000000238418579`); null for ±∞ and NaN, which JSON cannot write.
fn number(x: f32) -> Value {
    match x.is_finite() {
        true => x
            .to_string()
            .parse::<f64>()
            .map_or(Value::Null, Value::from),
        false => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn translation(text: &str, log_prob: f32, score: f32) -> Translation {
        Translation {
            tokens: text.split(' ').map(String::from).collect(),
            text: text.into(),
            log_prob,
            score,
        }
    }

    #[test]
    fn nbest_lines_are_moses_style() {
        let t = translation("je suis là", -1.25, -0.5);
        assert_eq!(
            nbest_line(3, &t),
            "3 ||| je suis là ||| log_prob=-1.25 ||| -0.5"
        );
        let odd = translation("a ||| b", -1.0, -1.0);
        assert_eq!(nbest_line(0, &odd).matches("|||").count(), 3);
    }

    #[test]
    fn json_lines_hold_the_best_the_list_and_the_attention() {
        let hyps = [
            translation("a b", -0.5, -0.25),
            translation("a c", f32::NEG_INFINITY, f32::NEG_INFINITY),
        ];
        let att = AttentionMap {
            name: "attention".into(),
            rows: 2,
            cols: 2,
            weights: vec![0.75, 0.25, 0.1, 0.9],
        };
        let src = ["x".to_string(), "<eos>".to_string()];
        let line = json_line(4, "x", &src, &hyps, &[att], true);
        assert!(!line.contains('\n'));
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["id"], 4);
        assert_eq!(v["source"], "x");
        assert_eq!(v["source_tokens"], json!(["x", "<eos>"]));
        assert_eq!(v["tokens"], json!(["a", "b"]));
        assert_eq!(v["text"], "a b");
        assert_eq!(v["log_prob"], json!(-0.5));
        assert_eq!(v["score"], json!(-0.25));
        assert_eq!(v["nbest"][1]["text"], "a c");
        assert_eq!(v["nbest"][1]["score"], Value::Null);
        assert_eq!(v["attention"][0]["name"], "attention");
        assert_eq!(
            v["attention"][0]["weights"],
            json!([[0.75, 0.25], [0.1, 0.9]])
        );

        let plain = json_line(0, "x", &src, &hyps[..1], &[], false);
        let v: Value = serde_json::from_str(&plain).unwrap();
        assert!(v.get("nbest").is_none());
        assert_eq!(v["attention"], json!([]));

        let empty = json_line(1, "", &[], &[], &[], true);
        let v: Value = serde_json::from_str(&empty).unwrap();
        assert_eq!(v["text"], "");
        assert_eq!(v["log_prob"], Value::Null);
        assert_eq!(v["nbest"], json!([]));
    }

    #[test]
    fn numbers_are_short_and_json_safe() {
        assert_eq!(number(0.6).to_string(), "0.6");
        assert_eq!(number(f32::NAN), Value::Null);
        assert_eq!(number(f32::INFINITY), Value::Null);
    }
}
