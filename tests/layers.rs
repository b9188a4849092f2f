//! The server's modules import one way, down its layers (see the list in `server/lib.rs`):
//! a module may use a module of a lower layer, never one of its own layer or above. So no
//! import circle can form, the API and telemetry reach the router only through its public
//! handle, and nothing below the wiring knows the API.
//!
//! The crates enforce the coarser rule (the core and the contract build without the server);
//! this test enforces the finer one inside the server crate, by reading every `crate::`
//! path in its source.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Every top-level module of the server crate, lowest layer first; the modules of one entry
/// are one layer and may not import each other.
const LAYERS: &[&[&str]] = &[
    &["config", "net", "store", "trace"],
    &["health"],
    &["events"],
    &["effects"],
    &["router"],
    &["api", "telemetry"],
    &["host"],
    &["daemon"],
    &["demo"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn server_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("server")
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let entries =
        fs::read_dir(dir).unwrap_or_else(|error| panic!("reading {}: {error}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry of the source tree").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            found.push(path);
        }
    }
}

/// The top-level module `path` belongs to (`server/router/instance.rs` → `router`), or
/// `None` for the crate roots.
fn module_of(path: &Path) -> Option<String> {
    let relative = path.strip_prefix(server_dir()).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_owned())
}

/// The modules `source` names as `crate::NAME`, outside comments.
fn imported_modules(source: &str) -> BTreeSet<String> {
    let mut modules = BTreeSet::new();
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or_default();
        for (at, _) in code.match_indices("crate::") {
            // `vrrp_sidecar::` paths in doc tests and `$crate` are not this crate's imports.
            if code[..at].ends_with('$') || code[..at].ends_with('_') {
                continue;
            }
            let rest = &code[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                modules.insert(name);
            }
        }
    }
    modules
}

/// Every `crate::` import of the server, as (importing file, imported module).
fn imports() -> Vec<(PathBuf, String, String)> {
    let mut files = Vec::new();
    rust_files(&server_dir(), &mut files);
    files.sort();
    let mut found = Vec::new();
    for file in files {
        let Some(module) = module_of(&file) else {
            continue;
        };
        let source = fs::read_to_string(&file)
            .unwrap_or_else(|error| panic!("reading {}: {error}", file.display()));
        for imported in imported_modules(&source) {
            found.push((file.clone(), module.clone(), imported));
        }
    }
    found
}

#[test]
fn every_top_level_module_has_a_layer() {
    let mut entries: Vec<String> = fs::read_dir(server_dir())
        .expect("the server folder")
        .map(|entry| {
            let path = entry.expect("a directory entry").path();
            let name = path
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            name.strip_suffix(".rs").map(str::to_owned).unwrap_or(name)
        })
        .filter(|name| !matches!(name.as_str(), "lib" | "main"))
        .collect();
    entries.sort();
    let without_layer: Vec<&String> = entries
        .iter()
        .filter(|name| layer_of(name).is_none())
        .collect();
    assert!(
        without_layer.is_empty(),
        "give these modules a layer in LAYERS (and in server/lib.rs's list): {without_layer:?}"
    );
}

#[test]
fn imports_run_down_the_layers_only() {
    let mut upward = Vec::new();
    for (file, module, imported) in imports() {
        if imported == module || imported == "vrrp" {
            continue;
        }
        let (Some(from), Some(to)) = (layer_of(&module), layer_of(&imported)) else {
            continue;
        };
        if to >= from {
            upward.push(format!(
                "{} ({module}, layer {from}) imports crate::{imported} (layer {to})",
                file.strip_prefix(env!("CARGO_MANIFEST_DIR"))
                    .unwrap_or(&file)
                    .display()
            ));
        }
    }
    assert!(
        upward.is_empty(),
        "imports against the layers:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_test_sees_the_imports_it_judges() {
    // A reader that found nothing would pass the test above whatever the code does.
    let found = imports();
    assert!(found.len() > 50, "only {} imports found", found.len());
    assert!(
        found
            .iter()
            .any(|(_, module, imported)| module == "router" && imported == "effects"),
        "the router's use of the effects was not seen"
    );
    assert_eq!(
        imported_modules("use crate::config::Config; // crate::api in a comment"),
        BTreeSet::from(["config".to_owned()])
    );
}
