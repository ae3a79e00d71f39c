//! What a step shows, built once ([`step`]: its rows, groups, deltas and
//! processes), and the formats of it: the terminal and the annotated outputs
//! ([`render`]), the HTML page ([`html`]), the JSON documents ([`json`]) and
//! `lab diff` ([`compare`]); the picture of the whole address space
//! ([`picture`]), drawn by the terminal and the HTML page.

pub mod class;
pub mod compare;
pub mod html;
pub mod json;
pub mod picture;
pub mod pinned;
pub mod render;
pub mod step;
