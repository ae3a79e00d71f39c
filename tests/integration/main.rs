//! Integration tests of the whole `lab` binary on real processes: one test
//! binary, a module per area, shared helpers in `util`.

mod cache;
mod cleanup;
mod cli;
mod confine;
mod consistency;
mod exercises;
mod faults;
mod fuzz;
mod heap;
mod hostile;
mod html;
mod labs;
mod layering;
mod picture;
mod pmap;
mod report;
mod residency;
mod schema;
mod snapshots;
mod suite;
mod teach;
mod tools;
mod trust;
mod util;
mod verdict;
mod views;
mod watch;
