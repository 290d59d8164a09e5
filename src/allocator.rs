//! Process-wide allocator settings for `trcker serve`.

/// glibc gives every thread that allocates its own arena (up to 8 per core), and memory freed
/// in one arena is not reused by the others. Database work runs on a pool of blocking threads,
/// so a few large reports answered on different threads would each leave their peak behind.
/// Two arenas keep the resident size near one report's peak; the hot path is unaffected
/// (its allocations are small and short-lived).
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; called once at start-up before threads.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Hand memory freed by a one-off burst (compressing `/docs` at start) back to the OS, so the
/// idle server's resident size is what it uses, not that burst's peak.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free heap pages; it is thread-safe in glibc.
    unsafe {
        libc::malloc_trim(0);
    }
}
