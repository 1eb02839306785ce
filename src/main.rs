//! `s2s`: the command line. Subcommands arrive with their issues; today:
//! `devices` lists where tensors can run.

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "s2s", version, about = "Sequence-to-sequence models on a tensor engine written from scratch")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the devices tensors can run on: the CPU (its SIMD level and
    /// threads) and every GPU adapter wgpu finds.
    Devices,
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Devices => devices(),
    }
}

fn devices() -> Result<()> {
    println!(
        "cpu    SIMD {:?}, {} threads (rayon)",
        kernels_cpu::isa(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    Ok(())
}
