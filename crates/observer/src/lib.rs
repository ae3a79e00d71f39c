//! observer: run a lab's demo step by step and report what its memory did.
//!
//! Data flows one way: demo process ([`demo`]) → capture (`pmap_view`) →
//! diff and checks ([`check`]) → report ([`report`]) → text ([`render`]) or
//! the JSON documents ([`json`], the contract of docs/json.md).
//! The labs themselves are data ([`lab`], [`catalog`]).

pub mod catalog;
pub mod check;
pub mod cleanup;
pub mod compare;
pub mod demo;
pub mod error;
pub mod explain;
pub mod growth;
pub mod html;
pub mod impls;
pub mod json;
pub mod lab;
pub mod machine;
pub mod observe;
pub mod pagecache;
pub mod render;
pub mod report;
pub mod residency;
pub mod run;
pub mod step;
pub mod suite;
pub mod watch;

pub use impls::{Impl, Toolchain};
pub use report::Report;
pub use run::{run_lab, run_through, Ended, Next, RunError, RunOptions};
