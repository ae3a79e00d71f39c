//! The pylist demo's shape in Rust: ten million small heap objects referenced
//! from one vector, then dropped.
//!
//! Like CPython's list of ints, each element is a separate small allocation
//! (`Box<u64>`: one `malloc(8)`, a 32-byte chunk) and the vector holds
//! pointers (one `malloc` of 80 MB). What happens on drop is up to glibc's
//! allocator, not to Rust: that contrast is the point of the lab.

use std::hint::black_box;

use crate::{Error, Prompter};

const COUNT: u64 = 10_000_000;

pub fn run(p: &mut Prompter, _args: &[String]) -> Result<(), Error> {
    p.wait("start: press Enter to build a Vec of 10,000,000 boxed ints")?;

    // step 1: build a Vec of 10,000,000 Box<u64>
    let mut numbers: Vec<Box<u64>> = Vec::with_capacity(COUNT as usize);
    numbers.extend((0..COUNT).map(Box::new));
    black_box(&mut numbers);

    p.wait(&format!(
        "built a Vec of {} boxed ints: press Enter to drop it",
        numbers.len()
    ))?;

    // step 2: drop the Vec and every box
    drop(numbers);

    p.wait("dropped the Vec: press Enter to exit")?;
    Ok(())
}
