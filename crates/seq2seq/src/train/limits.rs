//! Memory the machine has, against memory a setting needs. A model, batch
//! or beam too large for the machine ends, when finally allocated, in the
//! allocator's abort ("memory allocation of N bytes failed", exit 134)
//! with nothing saved and no option named; weighing the estimate first
//! turns that into an error with both figures, before anything is built.

/// Bytes of memory available for new allocations: `MemAvailable` of
/// /proc/meminfo (free memory plus the caches the kernel would drop).
/// `None` where there is no such file (not Linux).
pub fn mem_available() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// Without /proc/meminfo, needs beyond this (1 TiB) are refused: no machine
/// this runs on has that much, and anything larger is a typo.
const FALLBACK_LIMIT: u128 = 1 << 40;

/// `bytes` for people: "512 MiB", "12.3 GiB", "7.0 TiB".
pub fn human_bytes(bytes: u128) -> String {
    let b = bytes as f64;
    const KIB: f64 = 1024.0;
    if b >= KIB.powi(4) {
        format!("{:.1} TiB", b / KIB.powi(4))
    } else if b >= KIB.powi(3) {
        format!("{:.1} GiB", b / KIB.powi(3))
    } else {
        format!("{:.0} MiB", (b / KIB.powi(2)).ceil())
    }
}

/// `Err` naming `what`, the bytes it needs and the bytes available when
/// `need` is more than the machine has.
pub fn check_fits(need: u128, what: impl FnOnce() -> String) -> Result<(), String> {
    let (limit, source) = match mem_available() {
        Some(avail) => (avail as u128, "available (MemAvailable in /proc/meminfo)"),
        None => (
            FALLBACK_LIMIT,
            "the limit where the memory available is unknown",
        ),
    };
    if need <= limit {
        return Ok(());
    }
    Err(format!(
        "{} needs about {}, but this machine has {} {source}",
        what(),
        human_bytes(need),
        human_bytes(limit)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_as_people_write_them() {
        assert_eq!(human_bytes(512 << 20), "512 MiB");
        assert_eq!(human_bytes(3 << 29), "1.5 GiB");
        assert_eq!(human_bytes(7 << 40), "7.0 TiB");
    }

    #[test]
    fn an_absurd_need_is_refused_with_both_figures() {
        let e = check_fits(1 << 80, || "the model".into()).unwrap_err();
        assert!(
            e.starts_with("the model needs about") && e.contains("TiB"),
            "{e}"
        );
        assert!(check_fits(1 << 20, || "a megabyte".into()).is_ok());
    }
}
