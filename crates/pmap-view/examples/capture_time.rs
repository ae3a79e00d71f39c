//! How long `Snapshot::capture` takes on a live process, in-process (no
//! exec, no output): `cargo run --release -p pmap-view --example capture_time
//! -- PID [RUNS]`. Prints the mappings and the median, min and max in µs.
//! `bench/pmap.sh` runs it on a process with a few hundred mappings.

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(pid), runs) = (args.next().and_then(|p| p.parse::<i32>().ok()), args.next()) else {
        eprintln!("usage: capture_time PID [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = runs.and_then(|r| r.parse().ok()).unwrap_or(101);
    let mut times = Vec::with_capacity(runs);
    let mut mappings = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let snapshot = match pmap_view::Snapshot::capture(pid) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("capture_time: {e}");
                std::process::exit(1);
            }
        };
        times.push(start.elapsed().as_secs_f64() * 1e6);
        mappings = snapshot.regions.len();
    }
    times.sort_by(f64::total_cmp);
    println!(
        "mappings {mappings} median_us {:.0} min_us {:.0} max_us {:.0}",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1]
    );
}
