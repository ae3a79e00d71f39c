//! What the observer reads from the kernel beside a process's smaps: the
//! machine's facts ([`machine`]) and the demo's C library ([`c_library`]), which pages are resident ([`residency`]),
//! the page cache of a file ([`pagecache`]), growth over many captures
//! ([`growth`], [`watch`]) and what each region is ([`explain`]).

pub mod c_library;
pub mod explain;
pub mod growth;
pub mod machine;
pub mod pagecache;
pub mod residency;
pub mod watch;
