//! The mmap demo: map 100 MiB private anonymous memory, write every page, unmap.
//!
//! A faithful port of `labs/mmap/mmap.c`: the same three system calls through
//! libc, one volatile write per page (so the compiler cannot drop the writes).

use crate::{Error, Prompter};

const SIZE: usize = 100 * 1024 * 1024;

pub fn run(p: &mut Prompter, _args: &[String]) -> Result<(), Error> {
    p.wait("start: press Enter to mmap 100 MiB")?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;

    // step 1: mmap 100 MiB private anonymous read/write
    let prot = libc::PROT_READ | libc::PROT_WRITE;
    let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
    // SAFETY: a fresh anonymous mapping; no existing memory is affected.
    let ptr = unsafe { libc::mmap(std::ptr::null_mut(), SIZE, prot, flags, -1, 0) }.cast::<u8>();

    if ptr.cast() == libc::MAP_FAILED {
        return Err(Error::OutOfMemory {
            what: "mmap(100 MiB)",
        });
    }
    p.wait(&format!("p = {ptr:p}: press Enter to write every page"))?;

    // step 2: write one byte in every page
    for offset in (0..SIZE).step_by(page) {
        // SAFETY: offset < SIZE, inside the writable mapping.
        unsafe { ptr.add(offset).write_volatile(1) };
    }

    p.wait(&format!(
        "wrote every {page}-byte page: press Enter to munmap"
    ))?;

    // step 3: munmap the region
    // SAFETY: exactly the mapping made above; nothing points into it after this.
    let unmapped = unsafe { libc::munmap(ptr.cast(), SIZE) };

    if unmapped != 0 {
        return Err(Error::Input(std::io::Error::last_os_error()));
    }
    p.wait(&format!("unmapped {ptr:p}: press Enter to exit"))?;
    Ok(())
}
