//! Find the regions that grow steadily across a series of snapshots of one
//! process: the leak detector behind `lab watch` and the leak lab's checks.
//!
//! Regions are followed from one snapshot to the next by identity (the diff's
//! matching), so a region that grows and moves its start is one track. A track
//! is *steady* when its RSS grew in at least 80% of the intervals and never
//! shrank: what a leak looks like, as opposed to a cache that fills and drains.

use pmap_view::{diff, Kind, Region, Snapshot};

/// One region followed through the samples.
#[derive(Clone, Debug)]
pub struct Track {
    pub kind: Kind,
    /// The region's label as it is in the last sample where it exists.
    pub label: String,
    pub start: u64,
    /// RSS (KiB) at each sample, None where the region did not exist.
    pub rss: Vec<Option<u64>>,
    /// Virtual size (KiB) at each sample.
    pub size: Vec<Option<u64>>,
}

/// What the analysis says about a track.
#[derive(Clone, Debug)]
pub struct Growth {
    pub track: Track,
    /// RSS growth per unit of the sample positions (per second, per step).
    pub rss_rate: f64,
    /// Virtual size growth per unit.
    pub size_rate: f64,
    /// Grew in ≥ 80% of intervals and never shrank.
    pub steady: bool,
}

/// Follow every region through `samples` (in order) and rank the tracks by
/// RSS growth rate, fastest first. `at[i]` is the position of sample i (its
/// time in seconds, or its step number).
pub fn analyse(samples: &[&Snapshot], at: &[f64]) -> Vec<Growth> {
    assert_eq!(samples.len(), at.len());
    let n = samples.len();
    let mut tracks: Vec<Track> = Vec::new();
    // For the current sample: region index -> track index.
    let mut current: Vec<usize> = Vec::new();
    for (i, snap) in samples.iter().enumerate() {
        let mut next = vec![usize::MAX; snap.regions.len()];
        if i == 0 {
            for (r, region) in snap.regions.iter().enumerate() {
                next[r] = new_track(&mut tracks, region, n);
            }
        } else {
            let prev = samples[i - 1];
            for c in diff(prev, snap).changes {
                let Some(after) = c.after else { continue };
                let r = index_of(snap, after);
                next[r] = match c.before {
                    Some(before) => current[index_of(prev, before)],
                    None => new_track(&mut tracks, after, n),
                };
            }
        }
        for (r, region) in snap.regions.iter().enumerate() {
            let t = &mut tracks[next[r]];
            t.rss[i] = Some(region.fields.rss);
            t.size[i] = Some(region.fields.size);
            t.label = region.label();
            t.start = region.start;
        }
        current = next;
    }
    let mut growth: Vec<Growth> = tracks.into_iter().map(|t| judge(t, at)).collect();
    growth.sort_by(|a, b| b.rss_rate.total_cmp(&a.rss_rate));
    growth
}

fn new_track(tracks: &mut Vec<Track>, region: &Region, n: usize) -> usize {
    tracks.push(Track {
        kind: region.kind,
        label: region.label(),
        start: region.start,
        rss: vec![None; n],
        size: vec![None; n],
    });
    tracks.len() - 1
}

/// The index of a region of `snap` (the diff hands out references into it).
/// By position, not by address: a capture of a running process may list a
/// region twice when it changed while the kernel was printing the file.
fn index_of(snap: &Snapshot, region: &Region) -> usize {
    let size = std::mem::size_of::<Region>();
    let offset = (region as *const Region as usize).wrapping_sub(snap.regions.as_ptr() as usize);
    assert!(
        offset % size == 0 && offset / size < snap.regions.len(),
        "a region of this snapshot"
    );
    offset / size
}

fn judge(track: Track, at: &[f64]) -> Growth {
    // A region that appeared or vanished counts from/to zero.
    let series = |v: &[Option<u64>]| v.iter().map(|x| x.unwrap_or(0) as f64).collect::<Vec<_>>();
    let (rss, size) = (series(&track.rss), series(&track.size));
    let span = at.last().copied().unwrap_or(0.0) - at.first().copied().unwrap_or(0.0);
    let rate = |v: &[f64]| {
        if span > 0.0 {
            (v[v.len() - 1] - v[0]) / span
        } else {
            0.0
        }
    };
    let intervals = rss.len().saturating_sub(1);
    let grew = rss.windows(2).filter(|w| w[1] > w[0]).count();
    let shrank = rss.windows(2).any(|w| w[1] < w[0]);
    let steady = intervals > 0 && !shrank && grew * 5 >= intervals * 4;
    Growth {
        rss_rate: rate(&rss),
        size_rate: rate(&size),
        steady,
        track,
    }
}

/// The fastest steadily growing track, if any.
pub fn likely_leak(growth: &[Growth]) -> Option<&Growth> {
    growth.iter().find(|g| g.steady && g.rss_rate > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(heap_end: u64, heap_rss: u64, cache_rss: u64) -> Snapshot {
        let text = format!(
            "1000-{heap_end:x} rw-p 0 00:00 0 [heap]\nSize: {} kB\nRss: {heap_rss} kB\n\
             7f0000000000-7f0000100000 rw-p 0 00:00 0 \nSize: 1024 kB\nRss: {cache_rss} kB\n",
            (heap_end - 0x1000) / 1024
        );
        Snapshot::from_smaps(1, text.as_bytes()).unwrap()
    }

    #[test]
    fn a_steadily_growing_heap_is_found_with_its_rate() {
        let samples = [
            snap(0x101000, 100, 10),
            snap(0x201000, 200, 500),
            snap(0x301000, 300, 20),
            snap(0x401000, 400, 30),
        ];
        let refs: Vec<&Snapshot> = samples.iter().collect();
        let g = analyse(&refs, &[0.0, 1.0, 2.0, 3.0]);
        let leak = likely_leak(&g).expect("the heap grows steadily");
        assert_eq!(leak.track.kind, Kind::Heap);
        assert!((leak.rss_rate - 100.0).abs() < 1e-9);
        assert!((leak.size_rate - 1024.0).abs() < 1e-9);
        // The cache went up and down: not steady.
        assert!(
            !g.iter()
                .find(|x| x.track.kind == Kind::Anon)
                .unwrap()
                .steady
        );
    }

    /// A live capture can list a region twice (it grew while smaps was being
    /// printed); the tracks still cover every region.
    #[test]
    fn duplicate_regions_of_a_live_capture_are_tracked() {
        let twice = "1000-2000 rw-p 0 00:00 0 [heap]\nRss: 4 kB\n1000-3000 rw-p 0 00:00 0 [heap]\nRss: 8 kB\n";
        let a = snap(0x101000, 100, 10);
        let b = Snapshot::from_smaps(1, twice.as_bytes()).unwrap();
        let g = analyse(&[&a, &b, &a], &[0.0, 1.0, 2.0]);
        assert!(!g.is_empty());
    }

    #[test]
    fn nothing_grows_nothing_is_flagged() {
        let samples = [snap(0x101000, 100, 10), snap(0x101000, 100, 10)];
        let refs: Vec<&Snapshot> = samples.iter().collect();
        assert!(likely_leak(&analyse(&refs, &[0.0, 1.0])).is_none());
    }
}
