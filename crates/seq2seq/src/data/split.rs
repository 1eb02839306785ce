//! A deterministic train / validation / test split.
//!
//! Tatoeba comes as one file; to measure a model on sentences it never saw,
//! we hold some out. The split must be the same on every run and machine,
//! or a resumed run would validate on training data. So the example indices
//! are shuffled with `tensor::Rng` — counter-based, a pure function of
//! (seed, offset) — and the first `n_test` shuffled indices are the test
//! set, the next `n_valid` the validation set, the rest training. Each part
//! keeps the corpus order, so the split reads like the file.
//!
//! Sizes are rounded to the nearest integer: 10% of 11,445 is 1,145 (rounded half up).

use super::error::{DataError, Result};
use tensor::Rng;

/// The three parts of a corpus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splits<T> {
    pub train: Vec<T>,
    pub valid: Vec<T>,
    pub test: Vec<T>,
}

/// Splits `items` by seed, holding out the fractions `valid` and `test`.
pub fn split_by_seed<T: Clone>(items: &[T], valid: f64, test: f64, seed: u64) -> Result<Splits<T>> {
    let ok = |f: f64| (0.0..=1.0).contains(&f);
    if !ok(valid) || !ok(test) || valid + test > 1.0 {
        let msg = format!("validation ({valid}) and test ({test}) fractions must be in [0, 1] and sum to at most 1");
        return Err(DataError::Invalid(msg));
    }
    let n = items.len();
    let n_test = (test * n as f64).round() as usize;
    let n_valid = ((valid * n as f64).round() as usize).min(n - n_test);
    let mut order: Vec<usize> = (0..n).collect();
    Rng::new(seed).shuffle(&mut order);

    let mut part = vec![0u8; n]; // 0 train, 1 valid, 2 test
    for &i in &order[..n_test] {
        part[i] = 2;
    }
    for &i in &order[n_test..n_test + n_valid] {
        part[i] = 1;
    }
    let pick = |p: u8| {
        items
            .iter()
            .zip(&part)
            .filter(|&(_, &q)| q == p)
            .map(|(x, _)| x.clone())
            .collect()
    };
    Ok(Splits {
        train: pick(0),
        valid: pick(1),
        test: pick(2),
    })
}
