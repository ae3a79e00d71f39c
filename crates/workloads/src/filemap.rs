//! The file-mapping demo: make a 100 MiB file and drop it from the page cache,
//! map it privately, read every page, write the first 10 MiB, unmap it.
//!
//! A faithful port of `labs/filemap/filemap.c`: the file is written with write(2),
//! synced and dropped from the cache with posix_fadvise, mapped with mmap, read
//! and written with volatile accesses, unmapped with munmap.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

use crate::{Error, Prompter};

const MIB: usize = 1024 * 1024;
const SIZE: usize = 100 * MIB;

pub fn run(pr: &mut Prompter, _args: &[String]) -> Result<(), Error> {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
    // Make a 100 MiB file, then drop it from the page cache, as if cold.
    let path = format!("filemap-{}.dat", std::process::id());
    // A new file of our own: never one already there, nor through a link.
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| Error::io(format!("creating {path}"), e))?;
    let chunk = vec![7u8; 65536];
    for _ in 0..SIZE / chunk.len() {
        file.write_all(&chunk)
            .map_err(|e| Error::io(format!("writing {path}"), e))?;
    }
    file.sync_all()
        .map_err(|e| Error::io(format!("writing {path} to disk"), e))?;
    // SAFETY: advice on our own open file.
    unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };

    pr.wait(&format!(
        "start: press Enter to mmap the 100 MiB file {path}"
    ))?;

    // step 1: mmap the file, private, read/write
    let prot = libc::PROT_READ | libc::PROT_WRITE;
    // SAFETY: a private mapping of our own file; nothing else maps it.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            SIZE,
            prot,
            libc::MAP_PRIVATE,
            file.as_raw_fd(),
            0,
        )
    }
    .cast::<u8>();

    if p.cast() == libc::MAP_FAILED {
        return Err(Error::OutOfMemory {
            what: "mmap of the file",
        });
    }
    pr.wait(&format!("p = {p:p}: press Enter to read every page"))?;

    // step 2: read one byte of every page
    // SAFETY: every offset is inside the mapping of the 100 MiB file.
    let sum: u64 = (0..SIZE)
        .step_by(page)
        .map(|i| u64::from(unsafe { p.add(i).read_volatile() }))
        .sum();

    pr.wait(&format!(
        "read every page, sum = {sum}: press Enter to write the first 10 MiB"
    ))?;

    // step 3: write one byte in every page of the first 10 MiB
    for i in (0..10 * MIB).step_by(page) {
        // SAFETY: inside the writable private mapping.
        unsafe { p.add(i).write_volatile(1) };
    }

    pr.wait("wrote 10 MiB: press Enter to munmap")?;

    // step 4: munmap (the file stays, and so does its page cache)
    // SAFETY: exactly the mapping made above; nothing points into it after this.
    unsafe { libc::munmap(p.cast(), SIZE) };

    pr.wait("unmapped: press Enter to delete the file and exit")?;
    drop(file);
    std::fs::remove_file(&path).map_err(|e| Error::io(format!("removing {path}"), e))?;
    Ok(())
}
