//! The server log: `tracing` to standard error, as text (default) or one JSON object
//! per line (`OORE_LOG_FORMAT=json`), filtered by `RUST_LOG`. Every line written while a
//! request is handled carries that request's span fields (`request_id`, method, path).

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The global subscriber was set already.
#[derive(Debug, thiserror::Error)]
#[error("logging was initialised twice: {0}")]
pub struct LoggingError(String);

/// Installs the global subscriber. `filter` was validated by the config parser.
pub fn init_logging(format: LogFormat, filter: &str) -> Result<(), LoggingError> {
    let filter = EnvFilter::builder().parse_lossy(filter);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    result.map_err(|e| LoggingError(e.to_string()))
}
