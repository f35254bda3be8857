//! Interrupts: SIGINT and SIGTERM while traffic is on a new version.
//!
//! A release registers [`Interrupts`] before its first alias write, so an
//! interrupt at any later moment is caught (not fatal) and stages that hold
//! users on a new version race their waits against [`Interrupts::recv`]: an
//! interrupt rolls traffic back instead of leaving it half-moved. Elsewhere
//! than Unix only Ctrl-C is caught.

#[cfg(unix)]
use tokio::signal::unix::{Signal, SignalKind, signal};

/// Registered handlers for SIGINT and SIGTERM.
#[derive(Debug)]
pub struct Interrupts {
    #[cfg(unix)]
    int: Option<Signal>,
    #[cfg(unix)]
    term: Option<Signal>,
}

impl Interrupts {
    /// Starts catching SIGINT and SIGTERM.
    pub fn catch() -> Self {
        Interrupts {
            #[cfg(unix)]
            int: signal(SignalKind::interrupt()).ok(),
            #[cfg(unix)]
            term: signal(SignalKind::terminate()).ok(),
        }
    }

    /// Resolves when SIGINT or SIGTERM arrives, naming it.
    #[cfg(unix)]
    pub async fn recv(&mut self) -> &'static str {
        async fn next(signal: &mut Option<Signal>) {
            match signal {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            () = next(&mut self.int) => "SIGINT",
            () = next(&mut self.term) => "SIGTERM",
        }
    }

    /// Resolves when Ctrl-C arrives.
    #[cfg(not(unix))]
    pub async fn recv(&mut self) -> &'static str {
        match tokio::signal::ctrl_c().await {
            Ok(()) => "Ctrl-C",
            Err(_) => std::future::pending().await,
        }
    }
}
