//! Printing that ends quietly when the reader goes away: `print!`, `println!` and `eprintln!` for the
//! whole binary.
//!
//! The standard macros panic when a write fails, so `truereel status | head -1` used to end with a
//! panic message and exit status 101. These macros (declared before every other module, so they
//! shadow the standard ones everywhere in the binary) write the same text, and:
//! - when standard output is closed (`EPIPE`), the process exits at once with status 141, the status
//!   a shell reports for a program ended by `SIGPIPE` (as `cat`, `ls` or `grep` end in a pipe): what
//!   was left to print had no reader, and what the command did before printing stays done;
//! - when standard error is closed, the message is dropped and the command goes on.

use std::io::Write;

/// The exit status after a write to a closed standard output: 128 + SIGPIPE.
pub const BROKEN_PIPE_EXIT: i32 = 141;

/// Writes to standard output; exits quietly with [`BROKEN_PIPE_EXIT`] when no one reads it any more.
pub fn stdout(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(BROKEN_PIPE_EXIT);
        }
        // Another failure (a full disk behind a redirect): say so once, on standard error.
        stderr(format_args!("error: writing to standard output: {e}\n"));
        std::process::exit(1);
    }
}

/// Writes to standard error; a failure to do so is ignored (there is nowhere left to report it).
pub fn stderr(args: std::fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

macro_rules! print {
    ($($arg:tt)*) => { $crate::output::stdout(format_args!($($arg)*)) };
}

macro_rules! println {
    () => { $crate::output::stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

macro_rules! eprintln {
    () => { $crate::output::stderr(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::stderr(format_args!("{}\n", format_args!($($arg)*))) };
}
