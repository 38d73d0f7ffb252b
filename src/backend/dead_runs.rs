//! Test-only: which earlier test processes have exited, so their leftover
//! tables, keys and files can be swept without touching a live run.

/// True only when `pid` is certainly not a running process.
///
/// `/proc/<pid>` answers for our own pid namespace only. When `/proc` belongs to
/// another namespace (some sandboxes and containers), even our own pid is
/// missing there; then no pid can be judged, and nothing counts as dead.
pub fn pid_is_dead(pid: &str) -> bool {
    let Ok(pid) = pid.parse::<u32>() else { return false };
    let me = std::process::id();
    if pid == me || !proc_dir(me).exists() {
        return false;
    }
    !proc_dir(pid).exists()
}

fn proc_dir(pid: u32) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("/proc/{pid}"))
}

#[cfg(test)]
mod tests {
    use super::pid_is_dead;

    #[test]
    fn our_own_and_unparsable_pids_are_never_dead() {
        assert!(!pid_is_dead(&std::process::id().to_string()));
        assert!(!pid_is_dead(""));
        assert!(!pid_is_dead("12x"));
        // Above the kernel's pid_max (4194304), so never a live process.
        assert_eq!(pid_is_dead("4294967295"), std::path::Path::new(&format!("/proc/{}", std::process::id())).exists());
    }
}
