//! The router: the one task that owns every instance's protocol state, and what it needs to
//! run them on the real network.
//!
//! - [`event_loop`]: the task itself; it waits on sockets, timers, link events, health-check
//!   results and commands, and carries out what the instances decide.
//! - [`instance`]: one instance inside the router (codec options, schedules, logs).
//! - [`control`]: the requests the API and signals send the router, and its answers.
//! - [`reload`]: reading a new configuration and its interfaces off the router.
//! - [`link_debounce`]: the delays before a link change is acted on.
//! - [`checks`]: the health checks the router keeps, and what their results do.
//! - [`sockets`]: the raw VRRP sockets and their receiver tasks.
//! - [`timer`]: the router's timerfd, precise to microseconds.
//! - [`settings`]: from configuration to what the core and the sockets take.

pub mod checks;
pub mod control;
pub mod event_loop;
pub mod instance;
pub mod link_debounce;
pub mod reload;
pub mod settings;
pub mod sockets;
pub mod timer;

pub use control::RouterHandle;
pub use event_loop::{Router, RouterCommand, RouterParts, StartError};
pub use reload::{Reload, ReloadError, prepare_reload};
