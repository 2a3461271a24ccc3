//! The C allocator's share of a long run's memory (glibc on Linux; elsewhere these do nothing).
//!
//! A runner is one process of many threads: glibc gives busy threads arenas of their own (up to 8
//! per core), and memory freed in one stays with it, so a process that judges a reel now and then
//! (about 160 MB held for a second) keeps growing between judgements. Measured on the generate
//! bench (100 products, 2 cores): 124 MB before the clock and 501 MB at the end with the default
//! arenas; 36 MB and 331 MB with two; below that with the judges' memory given back after each
//! evaluation (README, "Speed and memory").

/// At most two arenas for this process. Call it first thing in `main`, before threads start.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tuning parameter of the allocator; any value is accepted.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Hands memory freed since back to the system (after a stage that held a lot for a short while).
pub fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free pages at the top of the heaps and in free chunks.
    unsafe {
        libc::malloc_trim(0);
    }
}
