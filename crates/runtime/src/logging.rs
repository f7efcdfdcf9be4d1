//! Logging: JSON lines on Lambda, readable lines locally; `RUST_LOG` filters by target and
//! level (`info` by default; e.g. `kyc_core=debug,info`).
//!
//! The filter is `tracing_subscriber`'s `Targets`, not `EnvFilter`: the same directives without
//! span and field matching, and without the regex engine that costs each binary some 400 KB.

use crate::config::LogFormat;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global subscriber once per process.
pub fn init_logging(format: LogFormat) {
    let (filter, invalid) = filter_from(std::env::var("RUST_LOG").ok().as_deref());
    let builder = tracing_subscriber::fmt();
    let _ = match format {
        // On Lambda, business metrics also leave as embedded-metric-format lines.
        LogFormat::Json => builder
            .json()
            .with_current_span(false)
            .without_time()
            .finish()
            .with(filter)
            .with(crate::emf::EmfLayer::stdout())
            .try_init(),
        LogFormat::Text => builder.with_target(false).finish().with(filter).try_init(),
    };
    if let Some(error) = invalid {
        tracing::warn!(%error, "RUST_LOG is not a valid filter; logging at info");
    }
}

/// The filter `RUST_LOG` names, or `info` (with the parse error when it names none).
fn filter_from(directives: Option<&str>) -> (Targets, Option<String>) {
    let default = || Targets::new().with_default(LevelFilter::INFO);
    match directives.map(str::trim).filter(|text| !text.is_empty()) {
        None => (default(), None),
        Some(text) => match text.parse::<Targets>() {
            Ok(filter) => (filter, None),
            Err(error) => (default(), Some(error.to_string())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn rust_log_sets_levels_per_target_with_info_by_default() {
        let (filter, invalid) = filter_from(None);
        assert!(invalid.is_none());
        assert!(filter.would_enable("kyc_core::services", &Level::INFO));
        assert!(!filter.would_enable("kyc_core::services", &Level::DEBUG));

        let (filter, _) = filter_from(Some("kyc_core=debug,aws_smithy_runtime=warn,info"));
        assert!(filter.would_enable("kyc_core::services::steps", &Level::DEBUG));
        assert!(!filter.would_enable("aws_smithy_runtime::client", &Level::INFO));
        assert!(filter.would_enable("kyc_http", &Level::INFO));
    }

    #[test]
    fn an_invalid_rust_log_falls_back_to_info_and_says_why() {
        let (filter, invalid) = filter_from(Some("kyc_core=loud"));
        assert!(invalid.is_some());
        assert!(filter.would_enable("kyc_core", &Level::INFO));
        assert!(!filter.would_enable("kyc_core", &Level::DEBUG));
    }
}
