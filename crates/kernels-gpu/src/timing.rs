//! Timing GPU work for benchmarks.
//!
//! With timestamp queries (the adapter's `TIMESTAMP_QUERY` feature; lavapipe
//! has it), every compute pass recorded inside [`time_gpu`] writes a
//! timestamp when it begins and ends, and the elapsed time is the sum of the
//! pass durations: GPU time only, without the host's recording and submit
//! overhead. Without them we fall back to submit-and-wait wall time.
//! Remember that the first dispatch of a pipeline includes the driver's JIT
//! compilation: warm up before timing.

use std::time::{Duration, Instant};

use crate::context::context;
use crate::error::GpuError;
use crate::record::{map_and_read, TimedPasses};

/// How a [`GpuTiming`] was measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimingMethod {
    /// Sum of compute-pass durations from GPU timestamps.
    TimestampQueries,
    /// Host wall time from before recording until the GPU finished.
    SubmitAndWait,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GpuTiming {
    pub elapsed: Duration,
    pub method: TimingMethod,
}

/// Timestamp pairs available per timing scope (each pass holds up to
/// `MAX_BATCH` dispatches, so this covers tens of thousands of launches).
const MAX_TIMED_PASSES: u32 = 256;

/// Runs `f` (which records GPU work) and measures how long the GPU spends on
/// that work. Everything recorded before is finished first, so it is not
/// counted. The device is shared: work other threads record meanwhile is
/// counted too, so benchmark from one thread.
pub fn time_gpu<R>(f: impl FnOnce() -> Result<R, GpuError>) -> Result<(R, GpuTiming), GpuError> {
    let ctx = context()?;
    ctx.synchronize();
    let start = Instant::now();
    if !ctx.adapter().timestamp_queries {
        let result = f()?;
        ctx.synchronize();
        let timing = GpuTiming {
            elapsed: start.elapsed(),
            method: TimingMethod::SubmitAndWait,
        };
        return Ok((result, timing));
    }

    let query_set = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
        label: Some("s2s pass timestamps"),
        ty: wgpu::QueryType::Timestamp,
        count: 2 * MAX_TIMED_PASSES,
    });
    {
        // End any pass another thread opened since the synchronize above:
        // the next dispatch must open a fresh, timed pass.
        let mut rec = ctx.recorder.lock().unwrap();
        rec.end_pass();
        rec.timing = Some(TimedPasses {
            query_set,
            used: 0,
            capacity: MAX_TIMED_PASSES,
            overflowed: false,
        });
    }
    let result = f();
    let timed = {
        let mut rec = ctx.recorder.lock().unwrap();
        rec.end_pass();
        let timed = rec.timing.take().expect("the timing scope is still open");
        rec.flush(ctx);
        timed
    };
    let result = result?;
    ctx.synchronize();
    let wall = start.elapsed();
    if timed.overflowed || timed.used == 0 {
        let method = TimingMethod::SubmitAndWait;
        return Ok((
            result,
            GpuTiming {
                elapsed: wall,
                method,
            },
        ));
    }

    let ticks = read_timestamps(&timed)?;
    let period_ns = f64::from(ctx.queue.get_timestamp_period());
    let total_ns: f64 = ticks
        .chunks_exact(2)
        .map(|pair| pair[1].saturating_sub(pair[0]) as f64 * period_ns)
        .sum();
    let timing = GpuTiming {
        elapsed: Duration::from_nanos(total_ns as u64),
        method: TimingMethod::TimestampQueries,
    };
    Ok((result, timing))
}

/// Resolves the used timestamp pairs and reads them back as ticks.
fn read_timestamps(timed: &TimedPasses) -> Result<Vec<u64>, GpuError> {
    let ctx = context()?;
    let count = 2 * timed.used;
    let bytes = u64::from(count) * u64::from(wgpu::QUERY_SIZE);
    let resolved = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("s2s resolved timestamps"),
        size: bytes,
        usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("s2s timestamp read-back"),
        size: bytes,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
    encoder.resolve_query_set(&timed.query_set, 0..count, &resolved, 0);
    encoder.copy_buffer_to_buffer(&resolved, 0, &staging, 0, bytes);
    let index = ctx.queue.submit([encoder.finish()]);
    crate::counters::submit();
    map_and_read(ctx, &staging, index)
}
