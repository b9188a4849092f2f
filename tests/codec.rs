//! Codec tests, tier 1 of DESIGN.md: packets captured from keepalived 2.2.7, one byte fixture per
//! receive check, golden packets of our own encoder, and property tests.
//!
//! The fixtures live in `tests/fixtures/keepalived/`; `scripts/capture-keepalived.sh` recaptures
//! them and has tshark check the `sidecar-*` ones our encoder produced.

// The modules sit in tests/codec/, next to tests/fixtures/, hence the explicit paths.
#[path = "codec/decode_errors.rs"]
mod decode_errors;
#[path = "codec/encode_errors.rs"]
mod encode_errors;
#[path = "codec/ignored_fields.rs"]
mod ignored_fields;
#[path = "codec/keepalived.rs"]
mod keepalived;
#[path = "codec/properties.rs"]
mod properties;
#[path = "codec/sidecar_golden.rs"]
mod sidecar_golden;
#[path = "codec/support.rs"]
mod support;
