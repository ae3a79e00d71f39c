//! Running out of memory is an error, not a crash: Rust's default answer to
//! a failed allocation is a message and SIGABRT (exit 134, a core file).
//! `lab` allocates through [`Allocator`], which turns the failure into one
//! line on stderr and exit status 2, after killing the demos and removing
//! the files a run registered, as the signal handlers do.
//!
//! Only for `lab` itself ([`exit_on_failure`]): the Rust ports that `lab
//! workload` runs ask for their big blocks with `try_reserve` and report a
//! refusal themselves (a lab about memory limits wants to see it).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};

static EXIT_ON_FAILURE: AtomicBool = AtomicBool::new(false);

/// From now on, a failed allocation ends `lab` with status 2.
pub fn exit_on_failure() {
    EXIT_ON_FAILURE.store(true, Ordering::Relaxed);
}

/// The system allocator, watched for failures.
pub struct Allocator;

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        checked(System.alloc(layout), layout.size())
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        checked(System.alloc_zeroed(layout), layout.size())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        checked(System.realloc(ptr, layout, new_size), new_size)
    }
}

fn checked(ptr: *mut u8, size: usize) -> *mut u8 {
    if ptr.is_null() && EXIT_ON_FAILURE.load(Ordering::Relaxed) {
        out_of_memory(size);
    }
    ptr
}

/// Say so and exit 2, allocating nothing (there is no memory to be had).
fn out_of_memory(size: usize) -> ! {
    observer::drive::cleanup::kill_all();
    observer::drive::cleanup::remove_files();
    let mut line = [0u8; 160];
    let mut len = 0;
    let mut put = |bytes: &[u8]| {
        let n = bytes.len().min(line.len() - len);
        line[len..len + n].copy_from_slice(&bytes[..n]);
        len += n;
    };
    put(b"lab: out of memory: an allocation of ");
    // itoa formats on the stack: no allocation here.
    put(itoa::Buffer::new().format(size).as_bytes());
    put(b" bytes failed (see ulimit -v, or the memory limit of a cgroup)\n");
    // SAFETY: write(2) of our own stack buffer, then _exit(2): no allocation,
    // no destructor, no lock.
    unsafe {
        libc::write(2, line.as_ptr().cast(), len);
        libc::_exit(2)
    }
}
