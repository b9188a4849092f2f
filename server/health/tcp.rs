//! TCP checks: connecting passes. Nothing is sent; the connection is closed at once.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;

use super::HealthError;
use super::outcome::RunResult;
use super::runner::{Observation, observe};

/// A TCP check.
#[derive(Clone, Debug)]
pub struct TcpProbe {
    address: SocketAddr,
}

impl TcpProbe {
    /// A check that connects to `address`.
    pub fn new(address: SocketAddr) -> Self {
        Self { address }
    }

    /// Connects once; not connected within `timeout` is a failure.
    pub async fn run(&self, timeout: Duration) -> RunResult {
        observe(timeout, async {
            TcpStream::connect(self.address)
                .await
                .map_err(|source| HealthError::Connect {
                    address: self.address.to_string(),
                    source,
                })?;
            Ok(Observation::passed(format!(
                "connected to {}",
                self.address
            )))
        })
        .await
    }
}
