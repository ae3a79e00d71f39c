//! The leak demo: leak about 1 MiB per step, from malloc (`heap`, the default)
//! or as anonymous mmaps (`mmap`); with a second argument MS, leak every MS
//! milliseconds without prompts until killed (something for `lab watch`).
//!
//! A faithful port of `labs/leak/leak.c`: 1024 `malloc(1000)` written and never
//! freed (`Vec::leak`), or one written 1 MiB `mmap` never unmapped.

use crate::{malloc_bytes, Error, Prompter};

const STEPS: usize = 5;
const MIB: usize = 1 << 20;

fn leak_once(use_mmap: bool) -> Result<(), Error> {
    if use_mmap {
        let prot = libc::PROT_READ | libc::PROT_WRITE;
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
        // SAFETY: a fresh anonymous mapping, written in full, never unmapped.
        unsafe {
            let p = libc::mmap(std::ptr::null_mut(), MIB, prot, flags, -1, 0);
            if p == libc::MAP_FAILED {
                return Err(Error::OutOfMemory {
                    what: "mmap(1 MiB)",
                });
            }
            std::ptr::write_bytes(p.cast::<u8>(), 1, MIB);
        }
    } else {
        for _ in 0..1024 {
            let mut block = malloc_bytes(1000, "malloc(1000)")?;
            block.resize(1000, 1);
            block.leak();
        }
    }
    Ok(())
}

pub fn run(p: &mut Prompter, args: &[String]) -> Result<(), Error> {
    let use_mmap = args.first().is_some_and(|a| a == "mmap");
    if let Some(ms) = args.get(1).and_then(|m| m.parse::<u64>().ok()) {
        loop {
            leak_once(use_mmap)?;
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
    }
    p.wait("start: press Enter to leak 1 MiB")?;

    for step in 1..=STEPS {
        // step 1-5: leak about 1 MiB, once per step
        leak_once(use_mmap)?;

        let next = if step < STEPS {
            "leak 1 MiB more"
        } else {
            "exit"
        };
        p.wait(&format!("leaked {step} times: press Enter to {next}"))?;
    }
    Ok(())
}
