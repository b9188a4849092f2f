//! The codec of the `vrrp.v1` services (set in this crate's `build.rs`): protobuf exactly as tonic's
//! `ProstCodec` writes and reads it, with smaller buffers.
//!
//! tonic gives every call an 8 KiB encode buffer up front (and every streamed request an
//! 8 KiB decode buffer), and keeps it for the call's life. A `WatchState` message is about a
//! hundred bytes and a watcher may stay idle for days, so with thousands of watchers those
//! buffers were most of the daemon's memory. Buffers start at [`BUFFER_BYTES`] and grow as a
//! larger message needs (a `ListInstances` answer with hundreds of instances).

use std::marker::PhantomData;

use prost::Message;
use tonic::codec::{BufferSettings, Codec};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

/// Where a call's encode and decode buffers start: room for several `WatchState` events.
pub const BUFFER_BYTES: usize = 1024;

/// How much encoded output tonic collects from a stream before it hands it on: tonic's own
/// default, so a fast stream still goes out in large writes.
const YIELD_THRESHOLD: usize = 32 * 1024;

/// `ProstCodec` with [`BUFFER_BYTES`] buffers.
#[derive(Debug, Clone, Copy)]
pub struct SidecarCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for SidecarCodec<T, U> {
    fn default() -> Self {
        SidecarCodec(PhantomData)
    }
}

impl<T, U> Codec for SidecarCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = ProstDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<T, U>::raw_encoder(BufferSettings::new(BUFFER_BYTES, YIELD_THRESHOLD))
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProstCodec::<T, U>::raw_decoder(BufferSettings::new(BUFFER_BYTES, YIELD_THRESHOLD))
    }
}
