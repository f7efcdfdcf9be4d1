//! Logging: JSON lines on Lambda, readable lines locally; `RUST_LOG` filters (default `info`).

use crate::config::LogFormat;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once per process.
pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Json => builder.json().with_current_span(false).without_time().try_init(),
        LogFormat::Text => builder.with_target(false).try_init(),
    };
}
