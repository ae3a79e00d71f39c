//! pmap-view: a process's memory map as data.
//!
//! One job: turn `/proc/PID/smaps` into a [`Snapshot`] of [`Region`]s with their
//! sizes in KiB, classify each region ([`Kind`]), compare two snapshots
//! ([`diff()`]) and render the classic pmap views ([`pmap`]: every format of
//! procps-ng `pmap`, for `lab pmap`). Parsing ([`smaps::parse`]) is separate
//! from I/O ([`Snapshot::capture`]) so that recorded captures are ordinary
//! test fixtures. [`resident`] is the fast path of `pmap -x`, which needs only
//! Rss and Dirty; [`pagemap`] says which pages of a region are resident.

pub mod diff;
mod glibc_2_31_print;
pub mod json;
pub mod pagemap;
pub mod pmap;
pub mod region;
pub mod render;
pub mod resident;
pub mod smaps;
pub mod snapshot;
pub mod stat;

pub use diff::{diff, Change, Diff, RegionChange};
pub use pagemap::{PageMap, PageState};
pub use region::{Field, Fields, Key, Kind, Region};
pub use resident::page_bytes;
pub use snapshot::{CaptureError, Snapshot, Totals};
