//! Several translators at once: parallelism across batches.
//!
//! A decoding step of a small model on a batch of 64 sentences is a few
//! products of a few hundred rows: too little work to split well between
//! two threads (a second thread buys ~1.17× on the dates Transformer; see
//! docs/benchmarks.md "Translation speed"). What CTranslate2 calls
//! `inter_threads` is the other way to use the cores: N translators, each
//! decoding its own batches on its own pool of `threads / N` threads
//! (`intra_threads`). Batches are handed out in order from a shared
//! counter, so a slow batch does not hold the others up, and the results
//! come back in batch order whatever finishes first. Every batch is decoded
//! exactly as one translator would decode it, so the output does not depend
//! on the layout.

use crate::translate_cmd::translate_batch;
use anyhow::{bail, Result};
use seq2seq::decode::{DecodeOptions, Hypothesis};
use seq2seq::train::checkpoint::Checkpoint;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use tensor::Device;

/// `inter` translators of `threads / inter` threads each, as rayon pools.
pub fn pools(threads: usize, inter: usize) -> Result<Vec<rayon::ThreadPool>> {
    if inter == 0 || threads == 0 || !threads.is_multiple_of(inter) {
        bail!("--inter-threads {inter} must divide the {threads} thread(s) (and be at least 1)");
    }
    (0..inter)
        .map(|_| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads / inter)
                .build()?;
            Ok(pool)
        })
        .collect()
}

/// Decodes every batch, one translator per pool; the hypotheses of each
/// batch, in batch order. `done(n)` is called as a batch of n sentences
/// finishes (for a progress bar). The first error stops the hand-out.
pub fn translate_batches(
    ck: &Checkpoint,
    batches: &[Vec<String>],
    opts: &DecodeOptions,
    device: &Device,
    pools: &[rayon::ThreadPool],
    done: &(dyn Fn(usize) + Sync),
) -> Result<Vec<Vec<Hypothesis>>> {
    if let [pool] = pools {
        // One translator: no hand-out needed.
        return pool.install(|| {
            batches
                .iter()
                .map(|batch| {
                    let hyps = translate_batch(ck, batch, opts, device)?;
                    done(batch.len());
                    Ok(hyps)
                })
                .collect()
        });
    }
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Vec<Mutex<Option<Result<Vec<Hypothesis>>>>> =
        batches.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for pool in pools {
            scope.spawn(|| {
                pool.install(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= batches.len() || failed.load(Ordering::Relaxed) {
                        break;
                    }
                    let hyps = translate_batch(ck, &batches[i], opts, device);
                    failed.fetch_or(hyps.is_err(), Ordering::Relaxed);
                    if hyps.is_ok() {
                        done(batches[i].len());
                    }
                    *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(hyps);
                })
            });
        }
    });
    let mut out = Vec::with_capacity(batches.len());
    for (i, slot) in results.into_iter().enumerate() {
        match slot.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(hyps) => out.push(hyps?),
            // Left undone only because an earlier batch failed: report that one.
            None => bail!("batch {i} was not decoded after another batch failed"),
        }
    }
    Ok(out)
}
