//! observer: run a lab's demo step by step and report what its memory did.
//!
//! The files are grouped by concern, each folder using only those before it:
//!
//! - [`measure`]: facts read from the kernel beside the smaps capture
//!   (`pmap_view`): the machine's facts, residency maps, the page cache,
//!   growth over time, what a region is.
//! - [`spec`]: the lab as data: its `lab.toml`, the catalog of labs, the
//!   check language and its evaluation.
//! - [`drive`]: running demos: starting and cleaning up processes, a lab run
//!   step by step, `lab observe`, the suite; the [`Report`] a run makes.
//! - [`views`]: what a step shows, built once ([`views::step`]), and its
//!   formats: the terminal and annotated text, the HTML page, the JSON
//!   documents (the contract of docs/json.md), `lab diff`.
//!
//! Data flows one way: demo process → capture → checks → report → views.

pub mod drive;
pub mod measure;
pub mod spec;
pub mod views;

pub use drive::impls::{Impl, Toolchain};
pub use drive::report::Report;
pub use drive::run::{run_lab, run_through, Ended, Next, RunError, RunOptions};
