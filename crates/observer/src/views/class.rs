//! `lab report`: a class's results in one place. Instructors collect the
//! `lab check --json` documents of many students' machines; this reads them
//! ([`read`]), merges them by machine ([`merge`]: identical facts make one
//! group with a count; which runs passed where; which checks fail on some
//! machines and pass on others, and the facts that tell those apart), and
//! shows the merge as a table, an HTML page and a JSON document ([`show`]).
//!
//! Documents come from students: every text in them is shown escaped (in
//! the terminal its control characters, in the page HTML too), and a file
//! that is not a document is one message, never a panic.

pub mod merge;
pub mod read;
pub mod show;
