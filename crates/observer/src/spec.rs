//! The lab as data: a lab's `lab.toml` ([`lab`]), the labs there are
//! ([`catalog`]), the check language with its evaluation ([`check`]),
//! every mistake a lab.toml can have, with its place ([`validate`]), and
//! which folders and files are trusted to run programs from ([`trust`]).

pub mod catalog;
pub mod check;
pub mod lab;
pub mod trust;
pub mod validate;
