//! The shared-memory demo: 100 MiB private (written) and 100 MiB shared
//! mappings, a fork, copy-on-write writes by the child, the shared region
//! written by both, and the child's exit.
//!
//! A faithful port of `labs/shared/shared.c`, through libc: the same mmaps, `fork`,
//! pipes for the parent's orders (so only the parent reads the terminal), and
//! `memset`-like writes (`write_bytes`).

use crate::{Error, Prompter};

const SIZE: usize = 100 * 1024 * 1024;

struct Pipes {
    to_child: [libc::c_int; 2],
    from_child: [libc::c_int; 2],
}

/// The last system call's error, saying which call it was (not "reading
/// stdin": a pipe or a fork failed).
fn io_error(what: &str) -> Error {
    Error::Io {
        what: what.to_string(),
        source: std::io::Error::last_os_error(),
    }
}

fn map(flags: libc::c_int) -> Result<*mut u8, Error> {
    let prot = libc::PROT_READ | libc::PROT_WRITE;
    // SAFETY: a fresh anonymous mapping; no existing memory is affected.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            SIZE,
            prot,
            flags | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(Error::OutOfMemory {
            what: "mmap(100 MiB)",
        });
    }
    Ok(p.cast())
}

/// Send the child an order and wait until it has carried it out.
fn order(pipes: &Pipes, what: u8) -> Result<(), Error> {
    let mut done = 0u8;
    // SAFETY: one-byte reads and writes on our own pipes.
    let ok = unsafe {
        libc::write(pipes.to_child[1], [what].as_ptr().cast(), 1) == 1
            && libc::read(pipes.from_child[0], (&mut done as *mut u8).cast(), 1) == 1
    };
    if ok {
        Ok(())
    } else {
        Err(io_error("talking to the child through its pipes"))
    }
}

/// The child: carry out orders until told to exit. Never returns.
fn child(pipes: &Pipes, private: *mut u8, shared: *mut u8) -> ! {
    let mut what = 0u8;
    // SAFETY: reads and writes of our pipes, writes inside our own mappings,
    // and _exit, which is what a forked child of a single-threaded program may call.
    unsafe {
        while libc::read(pipes.to_child[0], (&mut what as *mut u8).cast(), 1) == 1 {
            match what {
                b'p' => std::ptr::write_bytes(private, 2, SIZE / 2),
                b's' => std::ptr::write_bytes(shared, 2, SIZE),
                _ => libc::_exit(0),
            }
            if libc::write(pipes.from_child[1], [what].as_ptr().cast(), 1) != 1 {
                libc::_exit(1);
            }
        }
        libc::_exit(0)
    }
}

pub fn run(p: &mut Prompter, _args: &[String]) -> Result<(), Error> {
    p.wait("start: press Enter to map and write 100 MiB private, map 100 MiB shared")?;

    // step 1: 100 MiB private, written; 100 MiB shared, not yet written
    let (private, shared) = (map(libc::MAP_PRIVATE)?, map(libc::MAP_SHARED)?);
    // SAFETY: the whole private mapping is writable.
    unsafe { std::ptr::write_bytes(private, 1, SIZE) };

    p.wait("mapped: press Enter to fork")?;

    // step 2: fork a child
    let mut pipes = Pipes {
        to_child: [0; 2],
        from_child: [0; 2],
    };
    // SAFETY: pipe fills the arrays; fork in this single-threaded program.
    let pid = unsafe {
        if libc::pipe(pipes.to_child.as_mut_ptr()) != 0
            || libc::pipe(pipes.from_child.as_mut_ptr()) != 0
        {
            return Err(io_error("pipe"));
        }
        libc::fork()
    };
    if pid < 0 {
        // Else the parent would wait for a child that does not exist.
        return Err(io_error("fork"));
    }
    if pid == 0 {
        child(&pipes, private, shared)
    }

    p.wait("child forked: press Enter to let the child write half of the private region")?;

    // step 3: the child writes 50 MiB of the private region
    order(&pipes, b'p')?;

    p.wait("child wrote: press Enter to write the shared region in both processes")?;

    // step 4: the child, then the parent, write the whole shared region
    order(&pipes, b's')?;
    // SAFETY: the whole shared mapping is writable.
    unsafe { std::ptr::write_bytes(shared, 1, SIZE) };

    p.wait("both wrote: press Enter to end the child")?;

    // step 5: the child exits
    // SAFETY: a one-byte write on our pipe, then reaping our own child.
    unsafe { libc::write(pipes.to_child[1], b"x".as_ptr().cast(), 1) };
    unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };

    p.wait("child ended: press Enter to exit")?;
    Ok(())
}
