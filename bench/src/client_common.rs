//! Shared by the `client_sansweb` and `client_hyper` bins (through `#[path]`):
//! arguments, CPU time and the one-line result format.

/// `SCENARIO BASE_URL N [CONCURRENCY]`.
pub struct Args {
    pub scenario: String,
    pub base: String,
    pub n: usize,
    pub concurrency: usize,
}

pub fn args() -> Args {
    let a: Vec<String> = std::env::args().collect();
    Args {
        scenario: a.get(1).cloned().unwrap_or_else(|| "seq".into()),
        base: a
            .get(2)
            .cloned()
            .unwrap_or_else(|| "http://127.0.0.1:18095".into()),
        n: a.get(3).and_then(|s| s.parse().ok()).unwrap_or(20_000),
        concurrency: a.get(4).and_then(|s| s.parse().ok()).unwrap_or(50),
    }
}

/// This process's user+system CPU seconds (from /proc/self/stat).
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the ")" that closes the command name; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|s| s.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|s| s.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

/// Prints `units_per_second cpu_us_per_unit` (units: requests, or MiB for downloads).
pub fn report(units: f64, wall: std::time::Duration, cpu: f64) {
    println!("{:.1} {:.3}", units / wall.as_secs_f64(), cpu * 1e6 / units);
}
