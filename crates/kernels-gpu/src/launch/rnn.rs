//! The fused recurrent cells (`shaders/gru_cell.wgsl`, `shaders/lstm_cell.wgsl`):
//! one dispatch per step and per backward step. The equations and the
//! workspace layouts are those of `kernels_cpu::gru_cell` and of the
//! composed LSTM cell in the tensor crate, which the tests hold them to.

use super::{check_len, check_u32};
use crate::buffer::GpuBuffer;
use crate::context::context;
use crate::error::GpuError;
use crate::launch::elementwise::WG;
use crate::pipelines::{PipelineKey, Shader};
use crate::record::{dispatch, grid, Params};

/// Checks every `(name, buffer, width)`: `buffer` holds `rows · width · hidden`.
fn check_cell(
    op: &'static str,
    (rows, hidden): (usize, usize),
    buffers: &[(&str, &GpuBuffer, usize)],
) -> Result<Params, GpuError> {
    check_u32(op, "rows · hidden · 5", rows * hidden * 5)?;
    for &(name, buffer, width) in buffers {
        check_len(op, name, buffer, rows * width * hidden)?;
    }
    Ok(Params::new().usize(rows).usize(hidden))
}

fn launch(
    shader: Shader,
    entry: &'static str,
    params: Params,
    inputs: &[&GpuBuffer],
    outputs: &[&GpuBuffer],
    units: usize,
) -> Result<(), GpuError> {
    let ctx = context()?;
    let key = PipelineKey::new(shader, entry);
    dispatch(
        ctx,
        &key,
        params,
        inputs,
        outputs,
        grid(ctx, units.div_ceil(WG)),
    )
}

/// One GRU step: `h'` `[rows, H]` and the workspace `ws` `[rows, 4H]`
/// (r, z, n, gh_n) from the gate pre-activations `gi`, `gh` `[rows, 3H]`
/// and the previous state `h` `[rows, H]`.
pub fn gru_cell(
    gi: &GpuBuffer,
    gh: &GpuBuffer,
    h: &GpuBuffer,
    (rows, hidden): (usize, usize),
    h_next: &GpuBuffer,
    ws: &GpuBuffer,
) -> Result<(), GpuError> {
    let buffers = [
        ("gi", gi, 3),
        ("gh", gh, 3),
        ("h", h, 1),
        ("h_next", h_next, 1),
        ("ws", ws, 4),
    ];
    let params = check_cell("gru_cell", (rows, hidden), &buffers)?;
    let outputs = [h_next, ws];
    launch(
        Shader::GruCell,
        "gru_cell",
        params,
        &[gi, gh, h],
        &outputs,
        rows * hidden,
    )
}

/// The GRU step's backward for the gradient `g` of `h'`: `d_gi`, `d_gh`
/// `[rows, 3H]` and `d_h` `[rows, H]`.
pub fn gru_cell_backward(
    ws: &GpuBuffer,
    h: &GpuBuffer,
    g: &GpuBuffer,
    (rows, hidden): (usize, usize),
    (d_gi, d_gh, d_h): (&GpuBuffer, &GpuBuffer, &GpuBuffer),
) -> Result<(), GpuError> {
    let buffers = [
        ("ws", ws, 4),
        ("h", h, 1),
        ("g", g, 1),
        ("d_gi", d_gi, 3),
        ("d_gh", d_gh, 3),
        ("d_h", d_h, 1),
    ];
    let params = check_cell("gru_cell_backward", (rows, hidden), &buffers)?;
    let outputs = [d_gi, d_gh, d_h];
    let entry = "gru_cell_backward";
    launch(
        Shader::GruCell,
        entry,
        params,
        &[ws, h, g],
        &outputs,
        rows * hidden,
    )
}

/// One LSTM step: `hc` = `[h' | c']` `[rows, 2H]` and the workspace `ws`
/// `[rows, 5H]` (i, f, g, o, tanh c') from the summed gate pre-activations
/// `gates` `[rows, 4H]` and the cell state `c` `[rows, H]`.
pub fn lstm_cell(
    gates: &GpuBuffer,
    c: &GpuBuffer,
    (rows, hidden): (usize, usize),
    hc: &GpuBuffer,
    ws: &GpuBuffer,
) -> Result<(), GpuError> {
    let buffers = [
        ("gates", gates, 4),
        ("c", c, 1),
        ("hc", hc, 2),
        ("ws", ws, 5),
    ];
    let params = check_cell("lstm_cell", (rows, hidden), &buffers)?;
    // `c` fills the third input slot too, so both entry points bind alike.
    launch(
        Shader::LstmCell,
        "lstm_cell",
        params,
        &[gates, c, c],
        &[hc, ws],
        rows * hidden,
    )
}

/// The LSTM step's backward for the gradient `g` of `[h' | c']`: `d_gates`
/// `[rows, 4H]` and `d_c` `[rows, H]`.
pub fn lstm_cell_backward(
    ws: &GpuBuffer,
    c: &GpuBuffer,
    g: &GpuBuffer,
    (rows, hidden): (usize, usize),
    (d_gates, d_c): (&GpuBuffer, &GpuBuffer),
) -> Result<(), GpuError> {
    let buffers = [
        ("ws", ws, 5),
        ("c", c, 1),
        ("g", g, 2),
        ("d_gates", d_gates, 4),
        ("d_c", d_c, 1),
    ];
    let params = check_cell("lstm_cell_backward", (rows, hidden), &buffers)?;
    let entry = "lstm_cell_backward";
    launch(
        Shader::LstmCell,
        entry,
        params,
        &[ws, c, g],
        &[d_gates, d_c],
        rows * hidden,
    )
}
