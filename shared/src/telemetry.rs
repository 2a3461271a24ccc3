//! Logging setup: JSON lines on Lambda, readable lines on a terminal.

use tracing_subscriber::{EnvFilter, fmt};

fn filter() -> EnvFilter {
    EnvFilter::try_from_env("TRUEREEL_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"))
}

/// JSON logs to stdout, as CloudWatch wants them.
pub fn init_json() {
    let _ = fmt().json().with_env_filter(filter()).with_current_span(true).try_init();
}

/// Human-readable logs to stderr (keeps stdout for results).
pub fn init_text(default_level: &str) {
    let filter = EnvFilter::try_from_env("TRUEREEL_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).with_ansi(ansi).try_init();
}
