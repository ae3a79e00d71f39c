//! Running demos: the implementations and how each is started ([`impls`]),
//! the demo process and its prompt protocol ([`demo`]), never leaving one
//! behind ([`cleanup`]), a lab run step by step ([`run`]) and the [`report`]
//! it makes, any program driven by its output ([`observe`]), every lab at once
//! ([`suite`]), and the errors of all of these ([`error`]).

pub mod cgroup;
pub mod cleanup;
pub mod confine;
pub mod demo;
pub mod error;
pub mod impls;
pub mod observe;
pub mod pinned;
pub mod report;
pub mod run;
pub mod suite;
