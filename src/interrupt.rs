//! Interrupts: SIGINT and SIGTERM while traffic is on a new version.
//!
//! Stages that hold users on a new version while they check it race their
//! work against [`signalled`], so an interrupt rolls traffic back instead of
//! leaving it half-moved.

/// Resolves when the process receives SIGINT (Ctrl-C) or SIGTERM, naming it.
pub async fn signalled() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}
