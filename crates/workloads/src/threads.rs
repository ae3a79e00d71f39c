//! The threads demo: start 100 threads that sleep, let each call malloc once,
//! then end them.
//!
//! A faithful port of `labs/threads/threads.c`, so it calls `pthread_create` with
//! default attributes, as the C demo does. (`std::thread` would differ at the
//! system level: 2 MiB stacks, a signal stack per thread, and allocations in
//! each new thread before it does anything, which create the malloc arenas
//! early.) Synchronisation uses std's futex-based Mutex and Condvar.

use std::hint::black_box;
use std::sync::{Condvar, Mutex};

use crate::{Error, Prompter};

const THREADS: usize = 100;

/// (phase, threads that have malloc'ed); phase 0: sleep, 1: malloc, 2: exit.
static STATE: Mutex<(u8, usize)> = Mutex::new((0, 0));
static CHANGED: Condvar = Condvar::new();

extern "C" fn worker(_: *mut libc::c_void) -> *mut libc::c_void {
    drop(
        CHANGED
            .wait_while(STATE.lock().unwrap(), |s| s.0 == 0)
            .unwrap(),
    );
    let block: Vec<u8> = Vec::with_capacity(1024); // a thread's first malloc picks (or creates) an arena
    black_box(block.as_ptr());
    let mut state = STATE.lock().unwrap();
    state.1 += 1;
    CHANGED.notify_all();
    drop(CHANGED.wait_while(state, |s| s.0 == 1).unwrap());
    std::ptr::null_mut()
}

fn set_phase(phase: u8) {
    STATE.lock().unwrap().0 = phase;
    CHANGED.notify_all();
}

pub fn run(p: &mut Prompter, _args: &[String]) -> Result<(), Error> {
    let mut threads: Vec<libc::pthread_t> = vec![0; THREADS];
    p.wait(&format!("start: press Enter to start {THREADS} threads"))?;

    // step 1: start 100 threads that sleep
    for t in threads.iter_mut() {
        // SAFETY: default attributes; `worker` takes no argument and touches only statics.
        let rc = unsafe { libc::pthread_create(t, std::ptr::null(), worker, std::ptr::null_mut()) };
        if rc != 0 {
            return Err(Error::io(
                "pthread_create",
                std::io::Error::from_raw_os_error(rc),
            ));
        }
    }

    p.wait(&format!(
        "{THREADS} threads sleeping: press Enter to let each call malloc"
    ))?;

    // step 2: every thread calls malloc(1024) once
    set_phase(1);
    drop(
        CHANGED
            .wait_while(STATE.lock().unwrap(), |s| s.1 < THREADS)
            .unwrap(),
    );

    p.wait("every thread has malloc'ed: press Enter to end the threads")?;

    // step 3: end and join every thread
    set_phase(2);
    for t in threads {
        // SAFETY: each thread was created above and is joined once.
        unsafe { libc::pthread_join(t, std::ptr::null_mut()) };
    }

    p.wait("threads joined: press Enter to exit")?;
    Ok(())
}
