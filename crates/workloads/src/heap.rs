//! The heap demo: malloc 10 MiB, malloc 50 MiB, write the first 10 MiB, free both,
//! then malloc 10 MiB again and free it.
//!
//! A faithful port of `labs/heap/heap.c`: `Vec::try_reserve_exact` on the system
//! allocator is one `malloc(n)`, `resize` writes every byte (a `memset`), and
//! dropping a `Vec` is one `free`. `black_box` keeps the optimizer from deleting
//! allocations that nothing else reads (it does, in release builds).

use std::hint::black_box;

use crate::{malloc_bytes, Error, Prompter};

const MIB: usize = 1024 * 1024;

pub fn run(p: &mut Prompter, _args: &[String]) -> Result<(), Error> {
    p.wait("start: press Enter to malloc 10 MiB")?;

    // step 1: malloc 10 MiB
    let mut a = malloc_bytes(10 * MIB, "malloc(10 MiB)")?;
    black_box(a.as_mut_ptr());

    p.wait(&format!(
        "malloc(10 MiB) = {:p}: press Enter to malloc 50 MiB",
        a.as_ptr()
    ))?;

    // step 2: malloc 50 MiB more
    let mut b = malloc_bytes(50 * MIB, "malloc(50 MiB)")?;
    black_box(b.as_mut_ptr());

    p.wait(&format!(
        "malloc(50 MiB) = {:p}: press Enter to write the first 10 MiB",
        b.as_ptr()
    ))?;

    // step 3: write every byte of the first 10 MiB
    a.resize(10 * MIB, 1);
    black_box(a.as_mut_ptr());

    p.wait("wrote 10 MiB: press Enter to free both")?;

    // step 4: free both
    drop(a);
    drop(b);

    p.wait("freed both: press Enter to malloc 10 MiB again")?;

    // step 5: malloc 10 MiB again
    let mut c = malloc_bytes(10 * MIB, "malloc(10 MiB)")?;
    black_box(c.as_mut_ptr());

    p.wait(&format!(
        "malloc(10 MiB) = {:p}: press Enter to free it",
        c.as_ptr()
    ))?;

    // step 6: free it
    drop(c);

    p.wait("freed it: press Enter to exit")?;
    Ok(())
}
