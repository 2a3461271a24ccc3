//! Spawning outside tools (ffmpeg, ffprobe, espeak-ng, piper) so they die with us.
//!
//! `kill_on_drop` covers a future that is dropped, not a process that is killed: after a `kill -9`
//! a child would run on as an orphan. On Linux each child asks the kernel for SIGKILL when its parent
//! goes (`prctl(PR_SET_PDEATHSIG)`), set between fork and exec. The kernel ties this to the thread
//! that spawned the child; tools are spawned from the runtime's worker threads, which live as long as
//! the process.
//!
//! Tools spawned with [`spawn`] also run [`TOOL_NICENESS`] steps nicer than this process: on a
//! shared machine the media work (renders, assemblies, judging) yields the CPU to the job life in
//! this process (submitting when a provider slot frees, polling on time), so local work never
//! idles the provider concurrency the brand pays for. The tool is reniced from here once it runs,
//! not between fork and exec: a child made nicer there would hold this process's open files (the
//! runner's lock among them) for longer on a busy machine, and a run started after a `kill -9`
//! could find the lock still taken.

use std::path::Path;

/// How much nicer than this process an outside tool runs (Linux; capped at 19 by the kernel).
pub const TOOL_NICENESS: i32 = 10;

/// A command for `bin` that is killed when this process dies (Linux), or whose future is dropped.
/// Start it with [`spawn`].
pub fn tool_command(bin: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(bin);
    cmd.kill_on_drop(true);
    die_with_parent(&mut cmd);
    cmd
}

#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut tokio::process::Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the child between fork and exec and only makes two system calls
    // (prctl, getppid), both async-signal-safe; it allocates nothing and takes no lock.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before the request was made: then nothing would signal us.
            if libc::getppid() != parent {
                return Err(std::io::Error::other("the parent process is gone"));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut tokio::process::Command) {}

/// Starts `cmd` (from [`tool_command`]) and makes the running tool [`TOOL_NICENESS`] steps nicer.
pub fn spawn(cmd: &mut tokio::process::Command) -> std::io::Result<tokio::process::Child> {
    let child = cmd.spawn()?;
    if let Some(pid) = child.id() {
        renice(pid);
    }
    Ok(child)
}

#[cfg(target_os = "linux")]
fn renice(pid: u32) {
    // SAFETY: plain system calls on this process and its own child; making a process nicer needs
    // no privilege, and failing to is not worth failing the tool for.
    unsafe {
        let ours = libc::getpriority(libc::PRIO_PROCESS, 0);
        libc::setpriority(libc::PRIO_PROCESS, pid as libc::id_t, (ours + TOOL_NICENESS).min(19));
    }
}

#[cfg(not(target_os = "linux"))]
fn renice(_pid: u32) {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The child asks the kernel for its own parent-death signal (`prctl(PR_GET_PDEATHSIG)`, through
    /// python3's ctypes): SIGKILL for a tool, none for a plain spawn.
    #[tokio::test]
    async fn a_spawned_tool_is_killed_when_its_parent_dies() {
        let python = Path::new("/usr/bin/python3");
        assert!(python.exists(), "the check needs /usr/bin/python3");
        let script =
            "import ctypes; s = ctypes.c_int(); ctypes.CDLL(None).prctl(2, ctypes.byref(s), 0, 0, 0); print(s.value)";
        let out = tool_command(python).args(["-c", script]).output().await.unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), libc::SIGKILL.to_string());
        let plain = tokio::process::Command::new(python).args(["-c", script]).output().await.unwrap();
        assert_eq!(String::from_utf8_lossy(&plain.stdout).trim(), "0", "a plain spawn has no death signal");
    }

    /// A tool runs nicer than its parent; a plain spawn as nice as it.
    #[tokio::test]
    async fn a_spawned_tool_yields_the_cpu_to_its_parent() {
        let python = Path::new("/usr/bin/python3");
        // Asked a moment after start: the tool is reniced once it runs.
        let script = "import os, time; time.sleep(0.3); print(os.getpriority(os.PRIO_PROCESS, 0))";
        // SAFETY: getpriority only reads this process's niceness.
        let ours = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
        let mut cmd = tool_command(python);
        cmd.args(["-c", script]).stdout(std::process::Stdio::piped());
        let out = spawn(&mut cmd).unwrap().wait_with_output().await.unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), (ours + TOOL_NICENESS).min(19).to_string());
        let plain = tokio::process::Command::new(python).args(["-c", script]).output().await.unwrap();
        assert_eq!(String::from_utf8_lossy(&plain.stdout).trim(), ours.to_string());
    }
}
