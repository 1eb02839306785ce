//! Every model family learns a generated task to a stated accuracy in a
//! bounded number of steps (small sizes: each test takes well under a
//! minute in release on 2 cores).

mod train_support;

use seq2seq::models::{CellKind, ScoreKind};
use train_support::*;

#[test]
fn gru_bahdanau_learns_dates() {
    let dir = scratch("gru-bahdanau");
    // 6000 examples × 4 epochs / 64 = 376 steps
    let acc = train_and_measure(
        dates(6000),
        settings(4, 3e-3),
        attn(CellKind::Gru, ScoreKind::Bahdanau, false),
        &dir,
    );
    assert!(acc >= 0.85, "exact match {acc} < 0.85");
}

#[test]
fn lstm_luong_general_with_input_feeding_learns_dates() {
    let dir = scratch("lstm-general");
    let acc = train_and_measure(
        dates(6000),
        settings(4, 3e-3),
        attn(CellKind::Lstm, ScoreKind::General, true),
        &dir,
    );
    assert!(acc >= 0.85, "exact match {acc} < 0.85");
}

#[test]
fn gru_luong_dot_without_input_feeding_learns_dates() {
    let dir = scratch("gru-dot");
    let acc = train_and_measure(
        dates(6000),
        settings(4, 3e-3),
        attn(CellKind::Gru, ScoreKind::Dot, false),
        &dir,
    );
    assert!(acc >= 0.8, "exact match {acc} < 0.8");
}

#[test]
fn gru_luong_concat_learns_dates() {
    let dir = scratch("gru-concat");
    let acc = train_and_measure(
        dates(6000),
        settings(4, 3e-3),
        attn(CellKind::Gru, ScoreKind::Concat, true),
        &dir,
    );
    assert!(acc >= 0.8, "exact match {acc} < 0.8");
}

#[test]
fn sutskever_lstm_with_reversed_source_learns_reversal() {
    let dir = scratch("lstm-rev");
    let acc = train_and_measure(
        reversal(&dir, 4000),
        settings(20, 3e-3),
        rnn(CellKind::Lstm, true),
        &dir,
    );
    assert!(acc >= 0.8, "exact match {acc} < 0.8");
}

#[test]
fn sutskever_gru_learns_reversal() {
    let dir = scratch("gru-plain");
    let acc = train_and_measure(
        reversal(&dir, 4000),
        settings(20, 3e-3),
        rnn(CellKind::Gru, false),
        &dir,
    );
    assert!(acc >= 0.8, "exact match {acc} < 0.8");
}

#[test]
fn transformer_learns_dates() {
    let dir = scratch("transformer");
    // 8000 examples × 6 epochs / 64 = 750 steps, warm-up then 1/√step
    let mut train = settings(6, 3e-3);
    train.schedule = tensor::optim::LrSchedule::InverseSqrt { warmup: 100 };
    let acc = train_and_measure(dates(8000), train, transformer, &dir);
    assert!(acc >= 0.7, "exact match {acc} < 0.7");
}
