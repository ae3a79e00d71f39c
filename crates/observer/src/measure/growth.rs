//! Find the regions that grow steadily across a series of snapshots of one
//! process: the leak detector behind `lab watch` and the leak lab's checks.
//!
//! Regions are followed from one snapshot to the next by identity (the diff's
//! matching), so a region that grows and moves its start is one track. A track
//! is *steady* when its RSS grew in at least 80% of the intervals and never
//! shrank: what a leak looks like, as opposed to a cache that fills and drains.

use pmap_view::{diff, Kind, Region, Snapshot};

/// One region followed through the samples: what the analysis needs of its
/// series of RSS and virtual size, kept as it goes (a region absent from a
/// sample counts as 0 there), so that memory does not grow with the number
/// of samples (`lab watch --count 100000`).
#[derive(Clone, Debug)]
pub struct Track {
    pub kind: Kind,
    /// The region's label as it is in the last sample where it exists.
    pub label: String,
    pub start: u64,
    /// (RSS, size) KiB at the first sample.
    first: (u64, u64),
    /// (RSS, size) KiB at the last sample where it exists, and its index.
    last: (u64, u64),
    last_seen: usize,
    /// Intervals in which RSS grew; whether it ever shrank.
    grew: usize,
    shrank: bool,
}

impl Track {
    fn new(region: &Region, sample: usize) -> Track {
        let now = (region.fields.rss, region.fields.size);
        let mut t = Track {
            kind: region.kind,
            label: region.label(),
            start: region.start,
            first: if sample == 0 { now } else { (0, 0) },
            last: (0, 0),
            last_seen: sample,
            grew: 0,
            shrank: false,
        };
        // It appeared: from 0 (in the samples before) to what it is now.
        if sample > 0 {
            t.step(0, now.0);
        }
        t.last = now;
        t
    }

    /// RSS went from `from` to `to` over one interval.
    fn step(&mut self, from: u64, to: u64) {
        self.grew += usize::from(to > from);
        self.shrank |= to < from;
    }

    /// The region is in sample `sample` (after an earlier one) with these counters.
    fn update(&mut self, region: &Region, sample: usize) {
        let rss = region.fields.rss;
        if self.last_seen + 1 < sample {
            // Gone in between: down to 0, then back.
            self.step(self.last.0, 0);
            self.step(0, rss);
        } else {
            self.step(self.last.0, rss);
        }
        self.last = (rss, region.fields.size);
        self.last_seen = sample;
        self.label = region.label();
        self.start = region.start;
    }

    /// (RSS, size) at the last of `samples` samples; the whole series judged.
    fn finish(mut self, samples: usize) -> (Track, (u64, u64)) {
        if self.last_seen + 1 < samples {
            self.step(self.last.0, 0);
            return (self, (0, 0));
        }
        let last = self.last;
        (self, last)
    }
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

/// Regions followed sample by sample ([`Tracks::add`]); what [`analyse`]
/// does for a whole series at once.
#[derive(Clone, Debug, Default)]
pub struct Tracks {
    tracks: Vec<Track>,
    /// For the last sample: region index -> track index.
    current: Vec<usize>,
    samples: usize,
}

impl Tracks {
    /// Follow the regions of `snap`, the sample after `prev` (None: the first).
    pub fn add(&mut self, prev: Option<&Snapshot>, snap: &Snapshot) {
        let i = self.samples;
        let mut next = vec![usize::MAX; snap.regions.len()];
        match prev {
            None => {
                for (r, region) in snap.regions.iter().enumerate() {
                    self.tracks.push(Track::new(region, i));
                    next[r] = self.tracks.len() - 1;
                }
            }
            Some(prev) => {
                for c in diff(prev, snap).changes {
                    let Some(after) = c.after else { continue };
                    let r = index_of(snap, after);
                    next[r] = match c.before {
                        Some(before) => {
                            let t = self.current[index_of(prev, before)];
                            self.tracks[t].update(after, i);
                            t
                        }
                        None => {
                            self.tracks.push(Track::new(after, i));
                            self.tracks.len() - 1
                        }
                    };
                }
            }
        }
        self.current = next;
        self.samples += 1;
    }

    /// Rank the tracks by RSS growth rate, fastest first. `at[i]` is the
    /// position of sample i (its time in seconds, or its step number).
    pub fn growth(&self, at: &[f64]) -> Vec<Growth> {
        assert_eq!(self.samples, at.len());
        let span = at.last().copied().unwrap_or(0.0) - at.first().copied().unwrap_or(0.0);
        let intervals = self.samples.saturating_sub(1);
        let mut growth: Vec<Growth> = self
            .tracks
            .iter()
            .cloned()
            .map(|t| {
                let (t, last) = t.finish(self.samples);
                let rate = |first: u64, last: u64| {
                    if span > 0.0 {
                        (last as f64 - first as f64) / span
                    } else {
                        0.0
                    }
                };
                Growth {
                    rss_rate: rate(t.first.0, last.0),
                    size_rate: rate(t.first.1, last.1),
                    steady: intervals > 0 && !t.shrank && t.grew * 5 >= intervals * 4,
                    track: t,
                }
            })
            .collect();
        growth.sort_by(|a, b| b.rss_rate.total_cmp(&a.rss_rate));
        growth
    }
}

/// Follow every region through `samples` (in order) and rank the tracks by
/// RSS growth rate, fastest first. `at[i]` is the position of sample i (its
/// time in seconds, or its step number).
pub fn analyse(samples: &[&Snapshot], at: &[f64]) -> Vec<Growth> {
    assert_eq!(samples.len(), at.len());
    let mut tracks = Tracks::default();
    for (i, snap) in samples.iter().enumerate() {
        tracks.add(i.checked_sub(1).map(|p| samples[p]), snap);
    }
    tracks.growth(at)
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
