//! The lab as data: a lab's `lab.toml` ([`lab`]), the labs there are
//! ([`catalog`]), the check language with its evaluation ([`check`]), and
//! every mistake a lab.toml can have, with its place ([`validate`]).

pub mod catalog;
pub mod check;
pub mod lab;
pub mod validate;
