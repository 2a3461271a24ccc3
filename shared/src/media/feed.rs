//! Still-motion shots rendered straight into an assembly: each shot's camera move is rendered by its
//! own ffmpeg as raw `yuv420p` frames, and the renders, one after another in reel order, are passed
//! through one pipe into the assembly's standard input. No intermediate clip is encoded or decoded:
//! a still-motion reel costs its camera moves and the reel's one encode.
//!
//! At most [`AHEAD`] renders run at once (the one being passed on and the next, which has its first
//! frames ready when its turn comes), so memory does not grow with the number of shots. The frames
//! move between the pipes with `splice(2)` on Linux (no copy through this process). Every render must
//! give exactly the frames its spec promises: a render that fails, or gives more or fewer, fails the
//! assembly naming the shot.

use super::{Media, MediaError, MotionSpec, child, stderr_tail};
use std::collections::VecDeque;
use std::io::{PipeReader, PipeWriter};
use std::path::PathBuf;
use std::process::Stdio;

/// Renders running at once: the one being passed on and the next.
const AHEAD: usize = 2;
/// The pipe buffers asked for (Linux caps unprivileged pipes at 1 MiB by default): a frame moves in
/// a few calls rather than in 64 KiB steps.
const PIPE_BYTES: i32 = 1 << 20;

/// One still-motion shot to render into the assembly's stream.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedShot {
    /// The shot's place in the reel (for messages; counted from 0).
    pub shot: u32,
    pub photo: PathBuf,
    pub spec: MotionSpec,
}

impl FeedShot {
    /// The bytes of raw `yuv420p` frames the render must give.
    fn bytes(&self) -> u64 {
        let (w, h) = (self.spec.width as u64, self.spec.height as u64);
        (w * h + 2 * (w / 2) * (h / 2)) * self.spec.frames() as u64
    }
}

/// A pipe for frames: the reading end and the writing end, grown to [`PIPE_BYTES`].
pub(super) fn frame_pipe() -> Result<(PipeReader, PipeWriter), MediaError> {
    let (reader, writer) = std::io::pipe().map_err(|e| io("making a pipe for frames", e))?;
    grow(&writer);
    Ok((reader, writer))
}

/// Renders `shots` in order into `stream` (the assembly's standard input), then closes it.
pub(super) async fn feed(media: &Media, shots: &[FeedShot], stream: PipeWriter) -> Result<(), MediaError> {
    let mut stream = Some(stream);
    let mut running: VecDeque<(tokio::process::Child, PipeReader)> = VecDeque::new();
    let mut queued = shots.iter();
    for shot in shots {
        while running.len() < AHEAD
            && let Some(next) = queued.next()
        {
            running.push_back(start(media, next)?);
        }
        let (render, frames) = running.pop_front().expect("a render was started for this shot");
        let out = stream.take().expect("the stream is handed back after each shot");
        let passed = tokio::task::spawn_blocking(move || {
            let n = pass_on(&frames, &out);
            (out, n)
        })
        .await
        .map_err(|e| MediaError::BadOutput(format!("passing frames on panicked: {e}")))?;
        stream = Some(passed.0);
        let what = format!("render shot {} into the reel", shot.shot + 1);
        let done = render.wait_with_output().await.map_err(|e| io(&what, e))?;
        if !done.status.success() {
            return Err(MediaError::Failed {
                tool: media.ffmpeg.display().to_string(),
                what,
                status: done.status.to_string(),
                stderr_tail: stderr_tail(&done.stderr),
            });
        }
        let passed = passed.1.map_err(|e| io(&format!("passing the frames of shot {} on", shot.shot + 1), e))?;
        if passed != shot.bytes() {
            return Err(MediaError::BadOutput(format!(
                "the render of shot {} gave {passed} bytes of frames, {} promised ({} frames of {}x{})",
                shot.shot + 1,
                shot.bytes(),
                shot.spec.frames(),
                shot.spec.width,
                shot.spec.height
            )));
        }
    }
    Ok(())
}

/// Starts one render writing its frames into a new pipe; returns it and the pipe's reading end.
fn start(media: &Media, shot: &FeedShot) -> Result<(tokio::process::Child, PipeReader), MediaError> {
    shot.spec.validate()?;
    let (reader, writer) = frame_pipe()?;
    // The command holds the writing end until dropped: dropped here, so the render is its only writer
    // and its exit is the pipe's end.
    let mut cmd = child::tool_command(&media.ffmpeg);
    cmd.args(media.still_motion_raw_args(&shot.photo, &shot.spec))
        .stdin(Stdio::null())
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped());
    tracing::debug!(command = ?cmd.as_std(), shot = shot.shot, "render a still-motion shot into the reel");
    let render =
        child::spawn(&mut cmd).map_err(|e| io(&format!("starting the render of shot {}", shot.shot + 1), e))?;
    Ok((render, reader))
}

/// Moves everything from `from` into `to` until `from` ends; the bytes moved. An error when `to`
/// is closed (the assembly stopped reading).
#[cfg(target_os = "linux")]
fn pass_on(from: &PipeReader, to: &PipeWriter) -> std::io::Result<u64> {
    use std::os::fd::AsRawFd;
    let mut total = 0u64;
    loop {
        // SAFETY: both descriptors are open pipes owned by the caller for the whole call; no
        // offsets are passed (pipes have none) and splice touches no memory of this process.
        let n = unsafe {
            libc::splice(
                from.as_raw_fd(),
                std::ptr::null_mut(),
                to.as_raw_fd(),
                std::ptr::null_mut(),
                PIPE_BYTES as usize,
                libc::SPLICE_F_MOVE,
            )
        };
        match n {
            0 => return Ok(total),
            n if n > 0 => total += n as u64,
            _ => {
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn pass_on(mut from: &PipeReader, mut to: &PipeWriter) -> std::io::Result<u64> {
    std::io::copy(&mut from, &mut to)
}

/// Grows a pipe's buffer to [`PIPE_BYTES`] where the system allows it (a smaller pipe still works).
#[cfg(target_os = "linux")]
fn grow(pipe: &PipeWriter) {
    use std::os::fd::AsRawFd;
    // SAFETY: F_SETPIPE_SZ on an open pipe descriptor only resizes the kernel's buffer.
    unsafe {
        libc::fcntl(pipe.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_BYTES);
    }
}

#[cfg(not(target_os = "linux"))]
fn grow(_pipe: &PipeWriter) {}

fn io(what: &str, source: std::io::Error) -> MediaError {
    MediaError::Io { what: what.to_string(), source }
}
