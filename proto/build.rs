//! Compiles `vrrp/v1/*.proto` into Rust with protox (a pure-Rust protobuf compiler, so no system
//! `protoc` is needed) and tonic-prost-build, and keeps the encoded descriptor set for gRPC
//! server reflection.

use std::path::PathBuf;

/// The import root: this crate's folder, where `vrrp/v1/` holds the package's files.
const PROTO_ROOT: &str = ".";
const PROTO_FILES: &[&str] = &["vrrp/v1/sidecar.proto"];

fn main() -> miette::Result<()> {
    // `compile_fds` does not emit rerun-if-changed lines itself (only the protoc path does), so
    // name every input here or edits to the proto would not rebuild.
    for file in PROTO_FILES {
        println!("cargo:rerun-if-changed={file}");
    }
    println!("cargo:rerun-if-changed=build.rs");

    let mut compiler = protox::Compiler::new([PROTO_ROOT])?;
    // Source info carries the proto comments into the generated Rust docs.
    compiler.include_source_info(true).include_imports(true);
    compiler.open_files(PROTO_FILES)?;

    let out_dir = PathBuf::from(
        std::env::var_os("OUT_DIR").ok_or_else(|| miette::miette!("cargo did not set OUT_DIR"))?,
    );
    let descriptor_path = out_dir.join("vrrp_descriptor.bin");
    std::fs::write(&descriptor_path, compiler.encode_file_descriptor_set())
        .map_err(|error| miette::miette!("writing {}: {error}", descriptor_path.display()))?;

    tonic_prost_build::configure()
        // tonic's protobuf codec with smaller per-call buffers; see src/codec.rs.
        .codec_path("crate::codec::SidecarCodec")
        // Boxed so that an `Instance` inside a watch event's snapshot stays small beside the
        // other event kinds (clippy's large_enum_variant on the generated `Kind`).
        .boxed(".vrrp.v1.Instance.announcements")
        .compile_fds(compiler.file_descriptor_set())
        .map_err(|error| miette::miette!("generating Rust from the protos: {error}"))?;
    Ok(())
}
