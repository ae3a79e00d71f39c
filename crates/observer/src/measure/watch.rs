//! `lab watch PID`: sample any process's memory map at an interval, show what
//! grows, and name the region that grows steadily (a likely leak) with its rate.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use pmap_view::{diff, CaptureError, Snapshot, Totals};

use crate::measure::growth::{likely_leak, Growth, Tracks};

/// When a sample was taken (seconds since the first) and its totals.
pub struct Sample {
    pub at: f64,
    pub totals: Totals,
}

/// A watch so far: the totals of every sample, the last two captures (for
/// the changes of the last interval) and the regions followed through all of
/// them. Whole captures are not kept: on 65,000 mappings each is 27 MB.
#[derive(Default)]
pub struct Watch {
    pub samples: Vec<Sample>,
    pub previous: Option<Snapshot>,
    pub last: Option<Snapshot>,
    tracks: Tracks,
    /// Why the watch ended.
    pub ended: Ended,
}

impl Watch {
    fn add(&mut self, at: f64, snapshot: Snapshot) {
        self.tracks.add(self.last.as_ref(), &snapshot);
        self.samples.push(Sample {
            at,
            totals: snapshot.totals,
        });
        self.previous = self.last.replace(snapshot);
    }
}

/// Why a watch ended before its count.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Ended {
    /// It took every sample asked for (or the reader went away).
    #[default]
    Counted,
    /// The process exited.
    Exited,
    /// The PID now belongs to another process (the watched one exited and
    /// its number was reused): sampling it would report a stranger's memory.
    Reused,
}

/// Capture `pid` `count` times, `interval` apart (on a fixed schedule, so a
/// slow capture does not stretch the series), calling `on_sample` after each.
/// Stops early, keeping what it has, when the process exits, or when its PID
/// belongs to another process (its start time changed): see [`Watch::ended`].
pub fn watch(
    pid: i32,
    interval: Duration,
    count: usize,
    mut on_sample: impl FnMut(&Watch) -> std::io::Result<()>,
) -> Result<Watch, CaptureError> {
    let start = Instant::now();
    let mut w = Watch::default();
    let started = pmap_view::stat::ProcStat::read(pid).map(|s| s.start_time);
    for i in 0..count {
        let due = start + interval * i as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let at = start.elapsed().as_secs_f64();
        let same = || match (started, pmap_view::stat::ProcStat::read(pid)) {
            (Some(t), Some(now)) if now.start_time != t => Some(Ended::Reused),
            (_, None) | (_, Some(pmap_view::stat::ProcStat { state: 'Z', .. })) => {
                Some(Ended::Exited)
            }
            _ => None,
        };
        // Before and after the capture: a capture that straddles the exit
        // and a new process's start is not the watched process's.
        match same() {
            // No process before the first sample: the capture says why.
            Some(Ended::Exited) if w.samples.is_empty() => {}
            Some(why) => {
                w.ended = why;
                break;
            }
            None => {}
        }
        match Snapshot::capture(pid) {
            Ok(snapshot) => {
                if let Some(why) = same() {
                    w.ended = why;
                    break;
                }
                w.add(at, snapshot)
            }
            Err(CaptureError::NotFound(_) | CaptureError::Exited(_)) if !w.samples.is_empty() => {
                w.ended = Ended::Exited;
                break;
            }
            Err(e) => return Err(e),
        }
        if on_sample(&w).is_err() {
            break; // the reader went away (closed pipe): stop quietly
        }
    }
    Ok(w)
}

/// Rank the regions of the samples by RSS growth per second.
pub fn growth(w: &Watch) -> Vec<Growth> {
    let at: Vec<f64> = w.samples.iter().map(|s| s.at).collect();
    w.tracks.growth(&at)
}

/// One line for the latest sample: time, totals, the regions that changed.
pub fn sample_line(w: &Watch) -> String {
    let (Some(last), Some(sample)) = (&w.last, w.samples.last()) else {
        return String::new();
    };
    let t = &last.totals;
    let mut line = format!(
        "{:>7.2} s  virt {:>9} KiB  RSS {:>9} KiB",
        sample.at, t.size_kib, t.rss_kib
    );
    if let Some(prev) = &w.previous {
        let changes: Vec<String> = diff(prev, last)
            .changed()
            .filter(|c| c.rss_delta() != 0 || c.size_delta() != 0)
            .map(|c| format!("{} {:+} K RSS", c.region().label(), c.rss_delta()))
            .take(4)
            .collect();
        if !changes.is_empty() {
            let _ = write!(line, "   {}", changes.join(", "));
        }
    }
    line
}

/// The summary after the last sample.
pub fn summary(w: &Watch, growth: &[Growth]) -> String {
    let samples = &w.samples;
    let mut out = String::new();
    let span = samples.last().map_or(0.0, |s| s.at);
    let _ = writeln!(
        out,
        "\n{} samples over {span:.2} s. Regions that grew (RSS per second):",
        samples.len()
    );
    let growing: Vec<&Growth> = growth.iter().filter(|g| g.rss_rate > 0.0).take(5).collect();
    if growing.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for g in &growing {
        let _ = writeln!(
            out,
            "  {:016x} {:<24} {:>10.1} KiB/s RSS {:>10.1} KiB/s virt  {}",
            g.track.start,
            g.track.label,
            g.rss_rate,
            g.size_rate,
            if g.steady { "steady" } else { "" }
        );
    }
    let _ = match likely_leak(growth) {
        Some(g) => writeln!(
            out,
            "likely leak: {} ({}) grows steadily at {:.1} KiB/s",
            g.track.label,
            g.track.kind.as_str(),
            g.rss_rate
        ),
        None => writeln!(
            out,
            "no region grew steadily: no sign of a leak in this window"
        ),
    };
    out
}
