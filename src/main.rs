//! `s2s`: the command line. `train` fits a translation model, `translate`
//! and `eval` use it, `score` grades hypotheses against references, `bench`
//! times kernels and training steps, and `devices` lists where tensors can
//! run. Each subcommand lives in its own module; this file parses and
//! dispatches.

use anyhow::Result;
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// Large tensors on 2 MiB pages (see `tensor::HugePageAlloc`).
#[global_allocator]
static ALLOC: tensor::HugePageAlloc = tensor::HugePageAlloc;

mod average_cmd;
mod bench;
mod bpe_codes_cmd;
mod checks;
mod detok;
mod eval_cmd;
mod export_cmd;
mod guard;
mod plot;
mod plot_cmd;
mod score_cmd;
mod train_args;
mod train_cmd;
mod train_file;
mod train_settings;
mod translate_cmd;
mod translate_output;
mod translators;

/// The package version and the git revision it was built from (build.rs;
/// "unknown" when built outside a git checkout).
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("S2S_GIT_REV"), ")");

#[derive(Parser)]
#[command(
    name = "s2s",
    version = VERSION,
    about = "Sequence-to-sequence models on a tensor engine written from scratch"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the devices tensors can run on: the CPU (its SIMD level and
    /// threads) and every GPU adapter wgpu finds.
    Devices,
    /// Train a translation model: the built-in dates task by default, or a
    /// corpus (--data, or --train-src/--train-tgt/--valid-src/--valid-tgt).
    Train(Box<train_args::TrainArgs>),
    /// Score hypotheses against references with sacreBLEU-compatible BLEU
    /// (13a tokenizer, exp smoothing) and chrF, like the sacreBLEU command line.
    Score(score_cmd::ScoreArgs),
    /// Translate sentences with a trained model (beam search or greedy),
    /// optionally drawing attention heatmaps (docs/translating.md).
    Translate(translate_cmd::TranslateArgs),
    /// Translate a test set and score it: sacreBLEU, tokenized BLEU, chrF,
    /// sentences/s (docs/translating.md).
    Eval(eval_cmd::EvalArgs),
    /// Time kernels, a whole training step beside PyTorch, or a trained
    /// model translating a test set, and print a table (GFLOP/s, GB/s, % of
    /// the FMA peak; sentences/s and tokens/s for translate):
    /// `s2s bench matmul --threads 1,2 --json out.json --plot out.svg`,
    /// `s2s bench translate --model DIR --test-src FILE --beam 1,5`.
    Bench(bench::BenchArgs),
    /// Draw a figure again from what a run wrote: `s2s plot loss RUN
    /// --log-y --out loss.png` (docs/training.md).
    Plot(plot_cmd::PlotArgs),
    /// Average the weights of checkpoints of one model into a new checkpoint
    /// (as fairseq's average_checkpoints.py; docs/training.md).
    Average(average_cmd::AverageArgs),
    /// Write a trained model as plain PyTorch (model.py, model.safetensors,
    /// vocabularies) to train it further there, e.g. with torchrun on many
    /// GPUs (docs/training.md, "Continuing in PyTorch").
    Export(export_cmd::ExportArgs),
    /// Write a run's BPE merges as a subword-nmt codes file.
    BpeCodes(bpe_codes_cmd::BpeCodesArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell):
    /// `s2s completions bash > ~/.local/share/bash-completion/completions/s2s`.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

fn main() -> Result<()> {
    quiet_vulkan_loader();
    let args = train_file::expand(std::env::args().collect(), &Cli::command())?;
    let matches = Cli::command().get_matches_from(args);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match cli.command {
        Command::Devices => devices(),
        Command::Score(args) => score_cmd::run(args),
        Command::Train(args) => {
            let given = matches
                .subcommand_matches("train")
                .map(given_options)
                .unwrap_or_default();
            let resolved = match matches.subcommand_matches("train") {
                Some(m) => {
                    let cli = Cli::command();
                    let train = cli.find_subcommand("train").expect("a train subcommand");
                    train_file::render(m, train)
                }
                None => String::new(),
            };
            in_pool(|| train_cmd::run(*args, &given, &resolved))
        }
        Command::Translate(args) => in_pool(|| translate_cmd::run(args)),
        Command::Eval(args) => in_pool(|| eval_cmd::run(args)),
        Command::Bench(args) => bench::run(args),
        Command::Average(args) => average_cmd::run(args),
        Command::Export(args) => in_pool(|| export_cmd::run(args)),
        Command::Plot(args) => plot_cmd::run(args),
        Command::BpeCodes(args) => bpe_codes_cmd::run(args),
        Command::Completions { shell } => completions(shell),
    }
}

/// Prints the completion script for `shell`. It is generated into memory
/// first: clap_complete panics on a failed write, and a script piped into
/// `head` or a pager that quits early is no error.
fn completions(shell: clap_complete::Shell) -> Result<()> {
    use std::io::Write;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "s2s", &mut script);
    match std::io::stdout().write_all(&script) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// The options given on the command line (not defaulted), as `--name` or
/// `--name VALUE`. (The derive's argument group, named after the struct,
/// is no option.)
fn given_options(m: &clap::ArgMatches) -> Vec<String> {
    m.ids()
        .filter(|id| !id.as_str().starts_with(|c: char| c.is_ascii_uppercase()))
        .filter(|id| m.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .map(|id| {
            let name = format!("--{}", id.as_str().replace('_', "-"));
            let values: Vec<String> = m
                .get_raw(id.as_str())
                .into_iter()
                .flatten()
                .map(|v| v.to_string_lossy().into_owned())
                .collect();
            match values.as_slice() {
                [] => name,
                [flag] if flag == "true" => name,
                _ => format!("{name} {}", values.join(",")),
            }
        })
        .collect()
}

/// Run `work` on a worker of a rayon pool (of `RAYON_NUM_THREADS` threads,
/// or one per core) rather than on the main thread: the CPU kernels keep the
/// pool's other workers spinning between parallel kernels only for a caller
/// inside the pool (kernels-cpu `par::keep_warm`), and a worker hands work to
/// its peers without the main thread's sleep and wake-up on every kernel.
fn in_pool<R: Send>(work: impl FnOnce() -> Result<R> + Send) -> Result<R> {
    rayon::ThreadPoolBuilder::new().build()?.install(work)
}

/// Mesa's Vulkan drivers print "error: XDG_RUNTIME_DIR is invalid" on every
/// adapter probe when the variable is unset (a server or container session),
/// which reads like a failure of ours. Point it at the temp directory first —
/// only when unset, and before any thread exists, so setting it is safe.
fn quiet_vulkan_loader() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn devices() -> Result<()> {
    println!(
        "cpu   SIMD {:?}, {} threads (rayon)",
        kernels_cpu::isa(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    let adapters = kernels_gpu::adapters();
    if adapters.is_empty() {
        println!("gpu   none found: {}", kernels_gpu::INSTALL_HINT);
    }
    for (i, a) in adapters.iter().enumerate() {
        println!(
            "gpu{i}  {} ({}, {}, driver {})",
            a.name, a.backend, a.device_type, a.driver
        );
        if a.is_cpu_emulation {
            println!("      a CPU emulation: correct results, but its timings say nothing about GPU speed");
        }
        println!(
            "      max buffer {} MiB, max storage binding {} MiB, workgroup memory {} KiB, \
             {} invocations/workgroup, subgroups {}..{} (operations {}), shader-f16 {}, \
             timestamp queries {}",
            a.max_buffer_size >> 20,
            a.max_storage_buffer_binding_size >> 20,
            a.max_compute_workgroup_storage_size >> 10,
            a.max_compute_invocations_per_workgroup,
            a.subgroup_min_size,
            a.subgroup_max_size,
            yes_no(a.subgroups),
            yes_no(a.shader_f16),
            yes_no(a.timestamp_queries),
        );
    }
    Ok(())
}
