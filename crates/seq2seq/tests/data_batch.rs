//! Length-bucketed batches: every sentence once per epoch, correct
//! padding and masks, budgets respected, same seed → same batches.

use seq2seq::data::{epoch_rng, Batch, BatchSize, Batcher, Example, Vocab};
use tensor::{Device, Rng};

/// 103 examples with ids ≥ 4 (never a special) and lengths 1..=20.
fn examples() -> Vec<Example> {
    let mut rng = Rng::new(5);
    (0..103)
        .map(|_| {
            let seq = |rng: &mut Rng| {
                (0..1 + rng.below(20))
                    .map(|_| 4 + rng.below(50) as u32)
                    .collect()
            };
            Example {
                src: seq(&mut rng),
                tgt: seq(&mut rng),
            }
        })
        .collect()
}

fn check_epoch_covers_everything(plan: &[Vec<usize>], n: usize) {
    let mut seen: Vec<usize> = plan.iter().flatten().copied().collect();
    seen.sort();
    assert_eq!(
        seen,
        (0..n).collect::<Vec<_>>(),
        "every example exactly once"
    );
}

#[test]
fn sentence_batches_cover_the_epoch_and_respect_the_size() {
    let batcher = Batcher::new(examples(), BatchSize::Sentences(8), true).unwrap();
    let plan = batcher.plan(&mut epoch_rng(1, 0));
    check_epoch_covers_everything(&plan, 103);
    assert!(plan.iter().all(|b| !b.is_empty() && b.len() <= 8));
    assert_eq!(plan.len(), 13, "⌈103 / 8⌉");
}

#[test]
fn token_batches_respect_the_budget() {
    let batcher = Batcher::new(examples(), BatchSize::Tokens(60), false).unwrap();
    let plan = batcher.plan(&mut epoch_rng(1, 0));
    check_epoch_covers_everything(&plan, 103);
    for ix in &plan {
        let b = batcher.batch(ix);
        assert!(
            b.rows == 1 || b.rows * b.src_len.max(b.tgt_len) <= 60,
            "{} rows × {}",
            b.rows,
            b.src_len.max(b.tgt_len)
        );
    }
}

#[test]
fn batches_are_length_buckets() {
    // Batches are contiguous runs of the length-sorted examples, so their
    // (source, target) length ranges do not interleave.
    let batcher = Batcher::new(examples(), BatchSize::Sentences(10), true).unwrap();
    let key = |i: usize| {
        (
            batcher.examples()[i].src.len(),
            batcher.examples()[i].tgt.len(),
        )
    };
    let mut ranges: Vec<_> = batcher
        .plan(&mut epoch_rng(3, 0))
        .iter()
        .map(|b| {
            (
                b.iter().map(|&i| key(i)).min().unwrap(),
                b.iter().map(|&i| key(i)).max().unwrap(),
            )
        })
        .collect();
    ranges.sort();
    assert!(ranges.windows(2).all(|w| w[0].1 <= w[1].0), "{ranges:?}");
}

#[test]
fn same_seed_same_batches_other_epoch_other_order() {
    let batcher = Batcher::new(examples(), BatchSize::Sentences(8), true).unwrap();
    let a = batcher.plan(&mut epoch_rng(9, 2));
    assert_eq!(a, batcher.plan(&mut epoch_rng(9, 2)));
    assert_ne!(a, batcher.plan(&mut epoch_rng(9, 3)));
    assert_ne!(a, batcher.plan(&mut epoch_rng(10, 2)));
    // The caller's Rng state fully determines the plan (resume = restore it).
    let mut rng = Rng {
        seed: 77,
        offset: 1234,
    };
    let saved = rng.clone();
    let first = batcher.plan(&mut rng);
    assert_eq!(first, batcher.plan(&mut saved.clone()));
    let built: Vec<Batch> = batcher.epoch(&mut saved.clone()).collect();
    assert_eq!(
        built.iter().map(|b| b.indices.clone()).collect::<Vec<_>>(),
        first
    );
}

#[test]
fn padding_masks_and_shifted_targets_are_right() {
    let exs = examples();
    let batch = Batch::collate(&exs, &[3, 10, 0, 57], true);
    assert_eq!(batch.rows, 4);
    for (row, &i) in batch.indices.iter().enumerate() {
        let (src, tgt) = (&exs[i].src, &exs[i].tgt);
        let s_row = &batch.src[row * batch.src_len..(row + 1) * batch.src_len];
        let s_mask = &batch.src_mask[row * batch.src_len..(row + 1) * batch.src_len];
        let mut want: Vec<f32> = src.iter().map(|&t| t as f32).collect();
        want.push(Vocab::EOS as f32);
        assert_eq!(batch.src_lens[row], want.len());
        want.resize(batch.src_len, Vocab::PAD as f32);
        assert_eq!(s_row, want.as_slice());
        assert!(s_mask
            .iter()
            .enumerate()
            .all(|(t, &m)| m == (t < batch.src_lens[row]) as u8 as f32));

        let t = batch.tgt_len;
        let (tin, tout) = (
            &batch.tgt_in[row * t..(row + 1) * t],
            &batch.tgt_out[row * t..(row + 1) * t],
        );
        assert_eq!(batch.tgt_lens[row], tgt.len() + 1);
        assert_eq!(tin[0], Vocab::BOS as f32);
        assert_eq!(tout[tgt.len()], Vocab::EOS as f32);
        for k in 0..tgt.len() {
            assert_eq!(
                (tin[k + 1], tout[k]),
                (tgt[k] as f32, tgt[k] as f32),
                "decoder input is the target shifted right"
            );
        }
        assert!(tin[tgt.len() + 1..]
            .iter()
            .chain(&tout[tgt.len() + 1..])
            .all(|&x| x == Vocab::PAD as f32));
        let mask = &batch.tgt_mask[row * t..(row + 1) * t];
        assert_eq!(mask.iter().sum::<f32>(), (tgt.len() + 1) as f32);
    }
    assert_eq!(batch.src_len, *batch.src_lens.iter().max().unwrap());
    assert_eq!(batch.target_tokens(), batch.tgt_lens.iter().sum::<usize>());
}

#[test]
fn batches_become_tensors() {
    let batcher = Batcher::new(examples(), BatchSize::Sentences(4), false).unwrap();
    let batch = batcher.batch(&[1, 2, 3]);
    let src = batch.src_tensor(&Device::Cpu).unwrap();
    assert_eq!(src.shape().dims(), [3, batch.src_len]);
    assert_eq!(src.to_vec(), batch.src);
    assert_eq!(
        batch.tgt_out_tensor(&Device::Cpu).unwrap().shape().dims(),
        [3, batch.tgt_len]
    );
    assert_eq!(
        batch.src_mask_tensor(&Device::Cpu).unwrap().shape().dims(),
        [3, batch.src_len]
    );
}

#[test]
fn zero_batch_size_is_an_error() {
    assert!(Batcher::new(examples(), BatchSize::Tokens(0), true).is_err());
    assert!(Batcher::new(examples(), BatchSize::Sentences(0), true).is_err());
}
