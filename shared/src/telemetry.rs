//! Logging setup: JSON lines on Lambda, readable lines on a terminal. The filter is the configured
//! `TRUEREEL_LOG` (checked by the configuration), or a default.

use tracing_subscriber::{EnvFilter, fmt};

fn filter(configured: Option<&str>, default: &str) -> EnvFilter {
    configured.and_then(|f| EnvFilter::try_new(f).ok()).unwrap_or_else(|| EnvFilter::new(default))
}

/// JSON logs to stdout, as CloudWatch wants them (`info` unless configured).
pub fn init_json(configured: Option<&str>) {
    let _ = fmt().json().with_env_filter(filter(configured, "info")).with_current_span(true).try_init();
}

/// Human-readable logs to stderr (keeps stdout for results).
pub fn init_text(configured: Option<&str>, default_level: &str) {
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = fmt()
        .with_env_filter(filter(configured, default_level))
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(ansi)
        .try_init();
}
