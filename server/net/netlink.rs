//! The rtnetlink request connection shared by interface lookup and address changes.

use super::NetError;

/// A handle on an rtnetlink connection whose driver runs as a tokio task.
///
/// Cheap to clone: clones share the one socket. The driver task ends when the last clone
/// is dropped.
#[derive(Clone, Debug)]
pub struct Netlink {
    pub(crate) handle: rtnetlink::Handle,
}

impl Netlink {
    /// Opens a netlink route socket in the calling thread's network namespace and spawns
    /// its driver on the current tokio runtime.
    pub fn connect() -> Result<Self, NetError> {
        const PURPOSE: &str = "requests";
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| NetError::NoRuntime { purpose: PURPOSE })?;
        let (connection, handle, _unsolicited) =
            rtnetlink::new_connection().map_err(|source| NetError::Netlink {
                purpose: PURPOSE,
                source,
            })?;
        runtime.spawn(connection);
        Ok(Self { handle })
    }
}
