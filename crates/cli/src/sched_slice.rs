//! Asks Linux for a short scheduler time slice for `follow`.
//!
//! Each write on the master wakes redtail for a few microseconds of work. On a shared host
//! the woken follower otherwise waits its turn behind whatever else is runnable on that CPU
//! (often the master itself, still answering its client), which on 2 cores measured some
//! 30 µs per write. Since Linux 6.12 a fair-class task may request a shorter slice
//! (`sched_attr.sched_runtime`, 0.1–100 ms): it is then picked sooner after waking and
//! may preempt a task with a longer one. Its share of the CPU stays the same (that is
//! the weight, which this leaves alone), so a busy master loses no throughput to it.
//! Older kernels ignore the field for fair policies.
//!
//! Neither std nor glibc wrap `sched_getattr`/`sched_setattr`; `libc` has the struct and
//! the syscall numbers, so this calls them directly.

use std::io;
use std::time::Duration;

/// What [`request`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The slice was asked for (the kernel clamps it to its range, or ignores it if older).
    Requested,
    /// The thread runs under a real-time or deadline policy (set with `chrt`): left as it is.
    NotFairPolicy,
    /// Not Linux.
    #[cfg(not(target_os = "linux"))]
    Unsupported,
}

/// Asks for `slice` for the calling thread (and the threads it starts later, which inherit
/// it), keeping its policy, nice value and reset-on-fork flag.
#[cfg(target_os = "linux")]
pub fn request(slice: Duration) -> io::Result<Outcome> {
    const SCHED_FLAG_RESET_ON_FORK: u64 = 0x01;
    let size = std::mem::size_of::<libc::sched_attr>() as u32;
    // SAFETY: sched_attr is plain integers, for which all zeroes is a valid value.
    let mut attr: libc::sched_attr = unsafe { std::mem::zeroed() };
    // SAFETY: `attr` is a writable sched_attr of `size` bytes; pid 0 is the calling thread.
    if unsafe { libc::syscall(libc::SYS_sched_getattr, 0, &mut attr as *mut libc::sched_attr, size, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if attr.sched_policy != libc::SCHED_OTHER as u32 && attr.sched_policy != libc::SCHED_BATCH as u32 {
        return Ok(Outcome::NotFairPolicy);
    }
    attr.size = size;
    attr.sched_flags &= SCHED_FLAG_RESET_ON_FORK;
    attr.sched_runtime = u64::try_from(slice.as_nanos()).unwrap_or(u64::MAX);
    // SAFETY: `attr` is an initialised sched_attr whose `size` field says how long it is.
    if unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const libc::sched_attr, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Outcome::Requested)
}

#[cfg(not(target_os = "linux"))]
pub fn request(_slice: Duration) -> io::Result<Outcome> {
    Ok(Outcome::Unsupported)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The slice this thread runs with, from the kernel's own account of it (`se.slice` in
    /// /proc/thread-self/sched); `None` on kernels that do not show one.
    fn kernel_slice() -> Option<u64> {
        let text = std::fs::read_to_string("/proc/thread-self/sched").expect("/proc/thread-self/sched");
        text.lines()
            .find(|l| l.starts_with("se.slice"))
            .map(|l| l.rsplit(':').next().expect("a value").trim().parse().expect("se.slice is a number of ns"))
    }

    fn nice() -> i32 {
        // SAFETY: getpriority has no memory arguments; errno is not needed for these values.
        unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }
    }

    #[test]
    fn the_kernel_runs_the_thread_with_the_requested_slice_and_the_same_nice_value() {
        // Its own thread, so the test harness's threads keep their slice.
        std::thread::spawn(|| {
            // SAFETY: as above; raising one's own nice value needs no privilege.
            assert_eq!(unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 5) }, 0);
            let before = kernel_slice();
            assert_eq!(request(Duration::from_micros(300)).expect("sched_setattr"), Outcome::Requested);
            assert_eq!(nice(), 5, "the nice value is kept");
            match before {
                // Linux 6.12 or newer: the slice is the one asked for.
                Some(_) => assert_eq!(kernel_slice(), Some(300_000)),
                // An older kernel: the call succeeded and changed nothing visible.
                None => assert_eq!(kernel_slice(), None),
            }
        })
        .join()
        .unwrap();
    }
}
