//! The lab as data: a lab's `lab.toml` ([`lab`]), the labs there are
//! ([`catalog`]), and the check language with its evaluation ([`check`]).

pub mod catalog;
pub mod check;
pub mod lab;
