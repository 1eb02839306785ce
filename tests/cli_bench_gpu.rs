//! `s2s bench train-step --device gpu` as a user runs it: a step on the GPU
//! with its costs per step in the table and the JSON.

mod common;
use common::{s2s, scratch_dir, text};

#[test]
fn a_gpu_training_step_reports_its_dispatches_and_host_waits() {
    if !kernels_gpu::gpu_ready_for_tests() {
        return;
    }
    let dir = scratch_dir("cli_bench_gpu", "train_step");
    let json = dir.join("step.json");
    let out = s2s(&[
        "bench",
        "train-step",
        "--device",
        "gpu",
        "--model",
        "gru-attn",
        "--rounds",
        "1",
        "--steps",
        "1",
        "--json",
        json.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("GPU costs per step"), "{stdout}");
    let record: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&json).unwrap().trim()).unwrap();
    assert_eq!(record["device"], "gpu", "{record}");
    let count = |key: &str| {
        record[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} in {record}"))
    };
    // A GRU-attention step is hundreds of kernels; the loss read-back is at
    // least one wait, and every dispatch binds its buffers.
    assert!(count("dispatches") > 100.0, "{record}");
    assert!(count("host_waits") >= 1.0, "{record}");
    assert!(count("bind_groups") >= count("dispatches"), "{record}");
    assert!(count("bytes_down") >= 4.0, "the loss comes back: {record}");
    assert!(count("ms_per_step") > 0.0, "{record}");
}
