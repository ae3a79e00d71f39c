//! The zero-page demo: map 100 MiB, read every page, write every page, then
//! map again with `MADV_HUGEPAGE` and write: what reading costs (nothing), what
//! writing costs, and what transparent huge pages change.
//!
//! A faithful port of `labs/zeropage/zeropage.c`: the same system calls through libc,
//! volatile reads and writes so the compiler keeps every access.

use crate::{Error, Prompter};

const SIZE: usize = 100 * 1024 * 1024;

fn map() -> Result<*mut u8, Error> {
    let prot = libc::PROT_READ | libc::PROT_WRITE;
    let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
    // SAFETY: a fresh anonymous mapping; no existing memory is affected.
    let p = unsafe { libc::mmap(std::ptr::null_mut(), SIZE, prot, flags, -1, 0) };
    if p == libc::MAP_FAILED {
        return Err(Error::OutOfMemory {
            what: "mmap(100 MiB)",
        });
    }
    Ok(p.cast())
}

fn unmap(p: *mut u8) {
    // SAFETY: exactly a mapping made by `map`; nothing points into it after this.
    unsafe { libc::munmap(p.cast(), SIZE) };
}

fn write_every_page(p: *mut u8, page: usize) {
    for i in (0..SIZE).step_by(page) {
        // SAFETY: i < SIZE, inside the writable mapping.
        unsafe { p.add(i).write_volatile(1) };
    }
}

pub fn run(pr: &mut Prompter, _args: &[String]) -> Result<(), Error> {
    pr.wait("start: press Enter to mmap 100 MiB")?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;

    // step 1: mmap 100 MiB private anonymous read/write
    let mut p = map()?;

    pr.wait(&format!("p = {p:p}: press Enter to read every page"))?;

    // step 2: read one byte of every page
    // SAFETY: every offset is inside the readable mapping.
    let sum: u64 = (0..SIZE)
        .step_by(page)
        .map(|i| u64::from(unsafe { p.add(i).read_volatile() }))
        .sum();

    pr.wait(&format!(
        "read every page, sum = {sum}: press Enter to write every page"
    ))?;

    // step 3: write one byte of every page
    write_every_page(p, page);

    pr.wait("wrote every page: press Enter to remap with MADV_HUGEPAGE")?;

    // step 4: munmap, mmap 100 MiB again and ask for huge pages
    unmap(p);
    p = map()?;
    // SAFETY: advice on exactly the mapping just made.
    let advised = unsafe { libc::madvise(p.cast(), SIZE, libc::MADV_HUGEPAGE) };

    if advised != 0 {
        return Err(Error::Input(std::io::Error::last_os_error()));
    }
    pr.wait(&format!(
        "p = {p:p} with MADV_HUGEPAGE: press Enter to write every page"
    ))?;

    // step 5: write one byte of every page
    write_every_page(p, page);

    pr.wait("wrote every page: press Enter to munmap")?;

    // step 6: munmap
    unmap(p);

    pr.wait("unmapped: press Enter to exit")?;
    Ok(())
}
