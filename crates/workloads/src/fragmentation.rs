//! The fragmentation demo: a million small blocks, free every other one, ask
//! glibc to trim, free the rest, trim again.
//!
//! A faithful port of `labs/fragmentation/fragmentation.c`: each `Box<[u8; 64]>` is one
//! `malloc(64)` written in full, dropping it is one `free`, and `malloc_trim`
//! is glibc's own call.

use std::hint::black_box;

use crate::{Error, Prompter};

const COUNT: usize = 1_000_000;
const BLOCK: usize = 64;

pub fn run(p: &mut Prompter, _args: &[String]) -> Result<(), Error> {
    p.wait(&format!(
        "start: press Enter to malloc {COUNT} blocks of {BLOCK} bytes"
    ))?;

    // step 1: malloc 1,000,000 blocks of 64 bytes and write them
    let mut blocks: Vec<Option<Box<[u8; BLOCK]>>> = Vec::with_capacity(COUNT);
    blocks.extend((0..COUNT).map(|_| Some(Box::new([1u8; BLOCK]))));
    black_box(&mut blocks);

    p.wait("allocated: press Enter to free every other block")?;

    // step 2: free every other block
    blocks.iter_mut().step_by(2).for_each(|b| drop(b.take()));
    black_box(&mut blocks);

    p.wait("freed half: press Enter to call malloc_trim(0)")?;

    // step 3: ask glibc to give free memory back
    // SAFETY: malloc_trim only rearranges glibc's own free memory.
    unsafe { libc::malloc_trim(0) };

    p.wait("trimmed: press Enter to free the other half")?;

    // step 4: free the other blocks and the array
    drop(blocks);

    p.wait("freed all: press Enter to call malloc_trim(0) again")?;

    // step 5: ask glibc to give free memory back again
    // SAFETY: malloc_trim only rearranges glibc's own free memory.
    unsafe { libc::malloc_trim(0) };

    p.wait("trimmed: press Enter to exit")?;
    Ok(())
}
