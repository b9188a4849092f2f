//! The native configuration: examples load, every check reports its exact message and line,
//! environment overrides apply and are blamed by name, and no input makes loading panic.

use vrrp_sidecar::config::{Config, Format};

/// Every example shipped in `examples/` is a configuration that validates.
#[test]
fn every_example_validates() {
    let mut checked = 0;
    for entry in std::fs::read_dir("examples").expect("examples/ exists in the package") {
        let path = entry.expect("a readable directory entry").path();
        if Format::from_path(&path).is_none() {
            continue;
        }
        if let Err(error) = Config::load(&path) {
            panic!("{} does not validate:\n{error}", path.display());
        }
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} examples found");
}
