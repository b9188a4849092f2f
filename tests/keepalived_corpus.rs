//! A corpus of keepalived.conf files, each written for this test from keepalived's manual,
//! together covering the keywords users arrive with. Each file's first line says what must
//! happen to it:
//!
//! - `# expect: ok` (optionally `, warnings at LINE ...`): it loads, with a warning at
//!   exactly those lines (a line in another file is written `parts/x.conf:LINE`), and its
//!   `convert` output, loaded as a native file, gives the same configuration, which is what
//!   the daemon runs from;
//! - `# expect: errors at LINE ...`: it does not load, and the errors are at exactly those
//!   lines.

use std::path::{Path, PathBuf};

use vrrp_sidecar::config::{
    Config, Format, Severity, SourceLocation, load_keepalived_conf, to_native_toml,
};

const CORPUS: &str = "tests/fixtures/keepalived-corpus";

/// The keywords of the issue that the corpus as a whole must use.
const COVERED_KEYWORDS: &[&str] = &[
    "global_defs",
    "router_id",
    "notification_email",
    "notification_email_from",
    "smtp_server",
    "smtp_connect_timeout",
    "vrrp_version",
    "vrrp_garp_master_delay",
    "vrrp_garp_master_repeat",
    "vrrp_garp_master_refresh",
    "enable_script_security",
    "script_user",
    "vrrp_mcast_group4",
    "vrrp_mcast_group6",
    "vrrp_instance",
    "state",
    "interface",
    "virtual_router_id",
    "priority",
    "advert_int",
    "mcast_src_ip",
    "unicast_src_ip",
    "unicast_peer",
    "authentication",
    "virtual_ipaddress",
    "dev",
    "label",
    "virtual_ipaddress_excluded",
    "nopreempt",
    "preempt_delay",
    "accept",
    "version",
    "track_interface",
    "track_script",
    "track_file",
    "notify",
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "notify_fifo",
    "smtp_alert",
    "garp_master_delay",
    "garp_master_repeat",
    "garp_master_refresh",
    "vrrp_script",
    "vrrp_track_file",
    "vrrp_sync_group",
    "include",
];

/// What a corpus file's first line says must happen.
#[derive(Debug, PartialEq, Eq)]
enum Expected {
    /// It loads, with warnings at these places.
    Loads { warnings: Vec<String> },
    /// It does not load; the errors are at these places.
    Fails { errors: Vec<String> },
}

fn expected(path: &Path) -> Expected {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let first = text.lines().next().unwrap_or_default();
    let places = |list: &str| list.split_whitespace().map(str::to_owned).collect();
    if let Some(rest) = first.strip_prefix("# expect: ok") {
        let warnings = rest
            .strip_prefix(", warnings at ")
            .map(places)
            .unwrap_or_default();
        Expected::Loads { warnings }
    } else if let Some(list) = first.strip_prefix("# expect: errors at ") {
        Expected::Fails {
            errors: places(list),
        }
    } else {
        panic!("{}: the first line says nothing expected", path.display());
    }
}

/// A place as the headers write it: the line alone in the file itself, `other:line` in
/// another one.
fn place(location: &SourceLocation, file: &Path) -> String {
    match location {
        SourceLocation::Line { file: name, line } if Path::new(name) == file => line.to_string(),
        SourceLocation::Line { file: name, line } => {
            let relative = Path::new(name)
                .strip_prefix(CORPUS)
                .unwrap_or(Path::new(name));
            format!("{}:{line}", relative.display())
        }
        other => panic!("{}: a diagnostic without a line: {other}", file.display()),
    }
}

fn corpus() -> Vec<PathBuf> {
    conf_files(CORPUS)
}

/// The `.conf` files of `directory`, sorted.
fn conf_files(directory: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(directory)
        .unwrap_or_else(|error| panic!("{directory}: {error}"))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "conf")
        })
        .collect();
    files.sort();
    files
}

#[test]
fn the_corpus_is_large_enough_and_covers_the_keywords() {
    let files = corpus();
    assert!(files.len() >= 30, "only {} corpus files", files.len());
    let mut words = std::collections::BTreeSet::new();
    for path in files.iter().chain(
        std::fs::read_dir(Path::new(CORPUS).join("parts"))
            .expect("the included parts exist")
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .collect::<Vec<_>>()
            .iter(),
    ) {
        let text = std::fs::read_to_string(path).expect("readable");
        for line in text.lines() {
            let code = line.split(['#', '!']).next().unwrap_or_default();
            words.extend(code.split_whitespace().map(str::to_owned));
        }
    }
    let missing: Vec<&str> = COVERED_KEYWORDS
        .iter()
        .copied()
        .filter(|keyword| !words.contains(*keyword))
        .collect();
    assert!(
        missing.is_empty(),
        "keywords no corpus file uses: {missing:?}"
    );
    // Both comment styles, at the start of a line and after a value.
    let comments =
        std::fs::read_to_string(Path::new(CORPUS).join("04-comments.conf")).expect("readable");
    assert!(comments.contains("\n! ") && comments.contains("   # "));
}

#[test]
fn every_corpus_file_loads_or_fails_as_its_first_line_says() {
    let mut failures = Vec::new();
    for path in corpus() {
        let expected = expected(&path);
        let outcome = load_keepalived_conf(&path);
        match (&expected, outcome) {
            (Expected::Loads { warnings }, Ok((config, found))) => {
                assert!(found.iter().all(|d| d.severity == Severity::Warning));
                let places: Vec<String> = found
                    .iter()
                    .map(|diagnostic| place(&diagnostic.source_location, &path))
                    .collect();
                if &places != warnings {
                    failures.push(format!(
                        "{}: warnings at {places:?}, expected {warnings:?}: {found:#?}",
                        path.display()
                    ));
                }
                if let Err(difference) = round_trip(&config) {
                    failures.push(format!("{}: {difference}", path.display()));
                }
            }
            (Expected::Fails { errors }, Err(error)) => {
                let places: Vec<String> = error
                    .problems()
                    .iter()
                    .map(|problem| place(&problem.source_location, &path))
                    .collect();
                if &places != errors {
                    failures.push(format!(
                        "{}: errors at {places:?}, expected {errors:?}:\n{error}",
                        path.display()
                    ));
                }
                // Every error names its file and line, as the issue asks.
                for problem in error.problems() {
                    let printed = problem.to_string();
                    assert!(
                        printed.starts_with(&format!("{}:", path.display())),
                        "{printed}"
                    );
                }
            }
            (Expected::Loads { .. }, Err(error)) => {
                failures.push(format!("{}: should load:\n{error}", path.display()));
            }
            (Expected::Fails { .. }, Ok((config, _))) => {
                failures.push(format!("{}: should fail: {config:#?}", path.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `convert`'s output, read back by the native loader, is the same configuration.
fn round_trip(config: &Config) -> Result<(), String> {
    let native = to_native_toml(config);
    let reloaded = Config::from_str(&native, Format::Toml, "converted.toml")
        .map_err(|error| format!("the converted file does not load:\n{error}\n{native}"))?;
    if &reloaded == config {
        Ok(())
    } else {
        Err(format!(
            "the converted file loads differently:\n{native}\n{reloaded:#?}\n{config:#?}"
        ))
    }
}

/// keepalived.conf files from public repositories (its SOURCES.tsv names each one's project and
/// path), which keepalived 2.2.7 runs, all 60 of them. They stay in the shared folder beside
/// the work tree, as CI has it, and are read from there: they are other projects' text, a
/// target to meet, not ours to copy.
const WILD: &str = "../shared/corpus/keepalived-wild";

/// How many of the wild files must load: keepalived 2.2.7 runs them all (`keepalived -t`
/// exits 0, 5 or 6, never 3), and this daemon takes keepalived's verdict as its own.
const WILD_MUST_LOAD: usize = 58;

/// The wild files that do not load, each with why. keepalived 2.2.7 runs every one of them;
/// a file listed here is one where this daemon still departs from that verdict.
const WILD_NOT_LOADING: &[(&str, &str)] = &[];

fn wild_files() -> Vec<PathBuf> {
    conf_files(WILD)
}

/// `check --keepalived-conf` of the real binary on every wild file, reported per file: the
/// exit status, the number of warnings and the first error. Then `convert` of each file that
/// loads, read back by the native loader: the same configuration.
#[test]
fn the_wild_corpus_loads_as_keepalived_runs_it() {
    let files = wild_files();
    assert_eq!(files.len(), 60, "the wild corpus has 60 files");
    let mut report = Vec::new();
    let mut loaded = Vec::new();
    let mut not_loading = Vec::new();
    for path in &files {
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .expect("corpus names are UTF-8")
            .to_owned();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_vrrp-sidecar"))
            .args(["check", "--keepalived-conf"])
            .arg(path)
            .env_remove("RUST_LOG")
            .output()
            .expect("the binary runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let warnings = stderr
            .lines()
            .filter(|line| line.contains(": warning: "))
            .count();
        match output.status.code() {
            Some(0) => {
                report.push(format!("{name}: loads, {warnings} warning(s)"));
                loaded.push(path.clone());
            }
            code => {
                let first_error = stderr
                    .lines()
                    .find(|line| !line.contains(": warning: "))
                    .unwrap_or_default();
                report.push(format!("{name}: exit {code:?}: {first_error}"));
                not_loading.push(name);
            }
        }
    }
    let report = report.join("\n");
    println!("{report}\n{} of {} load", loaded.len(), files.len());
    let listed: Vec<&str> = WILD_NOT_LOADING.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        not_loading, listed,
        "the files that do not load are not the ones listed, per file:\n{report}"
    );
    assert!(
        loaded.len() >= WILD_MUST_LOAD,
        "{} of {} load, at least {WILD_MUST_LOAD} must:\n{report}",
        loaded.len(),
        files.len()
    );
    let mut failures = Vec::new();
    for path in &loaded {
        match load_keepalived_conf(path) {
            Ok((config, _)) => {
                if let Err(difference) = round_trip(&config) {
                    failures.push(format!("{}: {difference}", path.display()));
                }
            }
            Err(error) => failures.push(format!(
                "{}: check loaded it, the library does not:\n{error}",
                path.display()
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The wild files with `virtual_routes` and `virtual_rules` (OpenStack Neutron and Octavia,
/// keepalived's issue 1102) carry every route and rule, as `ip route` / `ip rule` write them.
#[test]
fn the_wild_routes_and_rules_are_carried_over() {
    let carried = |file: &str| {
        let (config, _) = load_keepalived_conf(&Path::new(WILD).join(file))
            .unwrap_or_else(|error| panic!("{file}: {error}"));
        let routes: Vec<String> = config
            .instances
            .iter()
            .flat_map(|instance| instance.virtual_routes.iter().map(ToString::to_string))
            .collect();
        let rules: Vec<String> = config
            .instances
            .iter()
            .flat_map(|instance| instance.virtual_rules.iter().map(ToString::to_string))
            .collect();
        (routes, rules)
    };
    assert_eq!(
        carried("009-openstack-neutron-l3ha.conf"),
        (
            vec!["default via 192.168.1.1 dev eth1 protocol static no_track".to_owned()],
            vec![]
        )
    );
    assert_eq!(
        carried("014-octavia-amphora-v4.conf"),
        (
            vec!["10.0.0.0/24 dev eth1 src 10.0.0.2 table 1 scope link".to_owned()],
            vec!["priority 100 from 10.0.0.2/32 table 1".to_owned()]
        )
    );
    assert_eq!(
        carried("015-octavia-amphora-v6.conf"),
        (
            vec!["2001:db8::/64 dev eth1 src 2001:db8::10 table 1 scope link".to_owned()],
            vec!["inet6 priority 100 from 2001:db8::10/128 table 1".to_owned()]
        )
    );
    let (routes, rules) = carried("024-issue1102-v6-routes-syncgroup.conf");
    assert_eq!(routes.len(), 8, "{routes:#?}");
    assert!(rules.is_empty());
    assert!(
        routes.contains(&"default inet6 via 2001:888:2000:29::1 dev eth1".to_owned()),
        "{routes:#?}"
    );
}
