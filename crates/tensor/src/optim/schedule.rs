//! Learning-rate schedules: the rate to use at (1-based) step `t` given the
//! base rate η₀.
//!
//! - Constant: η₀
//! - StepDecay: η₀ · γ^⌊(t-1)/step_size⌋ (`torch.optim.lr_scheduler.StepLR`, counted in steps)
//! - Noam (Vaswani et al. 2017, §5.3): η₀ · d_model^-½ · min(t^-½, t · warmup^-³ᐟ²)
//! - InverseSqrt (fairseq): linear warm-up to η₀, then η₀ · √(warmup / t)

/// A learning-rate schedule, saved in checkpoints so a resumed run continues it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LrSchedule {
    Constant,
    StepDecay { step_size: u64, gamma: f32 },
    Noam { d_model: usize, warmup: u64 },
    InverseSqrt { warmup: u64 },
}

impl LrSchedule {
    /// Learning rate for step `t` (1-based; 0 is treated as 1).
    pub fn lr(&self, base: f32, t: u64) -> f32 {
        let t = t.max(1);
        match *self {
            LrSchedule::Constant => base,
            LrSchedule::StepDecay { step_size, gamma } => {
                base * gamma.powi(((t - 1) / step_size.max(1)) as i32)
            }
            LrSchedule::Noam { d_model, warmup } => {
                let (t, w) = (t as f32, warmup.max(1) as f32);
                base * (d_model as f32).powf(-0.5) * t.powf(-0.5).min(t * w.powf(-1.5))
            }
            LrSchedule::InverseSqrt { warmup } => {
                let (t, w) = (t as f32, warmup.max(1) as f32);
                if t < w {
                    base * t / w
                } else {
                    base * (w / t).sqrt()
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noam_peaks_at_warmup() {
        let s = LrSchedule::Noam {
            d_model: 512,
            warmup: 4000,
        };
        let peak = s.lr(1.0, 4000);
        assert!((peak - 512f32.powf(-0.5) * 4000f32.powf(-0.5)).abs() < 1e-9);
        assert!(s.lr(1.0, 3999) < peak && s.lr(1.0, 4001) < peak);
    }

    #[test]
    fn step_decay_and_inverse_sqrt() {
        let s = LrSchedule::StepDecay {
            step_size: 10,
            gamma: 0.5,
        };
        assert_eq!(
            (s.lr(1.0, 10), s.lr(1.0, 11), s.lr(1.0, 21)),
            (1.0, 0.5, 0.25)
        );
        let s = LrSchedule::InverseSqrt { warmup: 100 };
        assert_eq!(s.lr(2.0, 50), 1.0);
        assert_eq!(s.lr(2.0, 400), 1.0);
    }
}
