//! gRPC health checks: `grpc.health.v1.Health/Check` over plaintext HTTP/2; SERVING passes,
//! any other status, an error status (an unknown service is NOT_FOUND) or no answer fails.

use std::net::SocketAddr;
use std::time::Duration;

use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::HealthError;
use super::outcome::RunResult;
use super::runner::{Observation, observe};

/// A gRPC health check with its channel, which reconnects by itself between runs.
#[derive(Clone, Debug)]
pub struct GrpcProbe {
    address: SocketAddr,
    service: String,
    client: HealthClient<Channel>,
}

impl GrpcProbe {
    /// A check asking `address` about `service` (`None`: the whole server). The channel
    /// connects on first use; connecting is bounded by `timeout` like the call. Must be
    /// called within a tokio runtime, which drives the channel.
    pub fn new(
        address: SocketAddr,
        service: Option<String>,
        timeout: Duration,
    ) -> Result<Self, HealthError> {
        let endpoint = Endpoint::from_shared(format!("http://{address}"))
            .map_err(|source| HealthError::GrpcTransport { address, source })?
            .connect_timeout(timeout);
        Ok(Self {
            address,
            service: service.unwrap_or_default(),
            client: HealthClient::new(endpoint.connect_lazy()),
        })
    }

    /// Calls `Check` once.
    pub async fn run(&self, timeout: Duration) -> RunResult {
        observe(timeout, async {
            // Clones share the channel; `check` needs the client mutably.
            let mut client = self.client.clone();
            let request = HealthCheckRequest {
                service: self.service.clone(),
            };
            let response =
                client
                    .check(request)
                    .await
                    .map_err(|status| HealthError::GrpcStatus {
                        address: self.address,
                        status: Box::new(status),
                    })?;
            let status = response.into_inner().status();
            let summary = status.as_str_name().to_owned();
            Ok(if status == ServingStatus::Serving {
                Observation::passed(summary)
            } else {
                Observation::failed(summary)
            })
        })
        .await
    }
}
