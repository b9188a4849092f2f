//! The virtual MAC in the configuration: `virtual_mac` / `virtual_mac_xmit_base` in the
//! native file, keepalived's `use_vmac [NAME]` / `vmac_xmit_base`, what keepalived 2.2.7
//! refuses with them, and the native file written back.

use std::path::{Path, PathBuf};

use vrrp_sidecar::config::{Config, Format, VirtualMac, load_keepalived_conf, to_native_toml};

const WEB: &str = r#"[instances.web]
interface = "eth0"
vrid = 51
virtual_addresses = ["192.0.2.101/24"]
"#;

fn load(text: &str) -> Config {
    Config::from_str(text, Format::Toml, "test.toml").unwrap_or_else(|error| panic!("{error}"))
}

fn problems(text: &str) -> Vec<String> {
    match Config::from_str(text, Format::Toml, "test.toml") {
        Ok(config) => panic!("expected problems, got {config:#?}"),
        Err(error) => error.problems().iter().map(ToString::to_string).collect(),
    }
}

fn write_conf(test: &str, text: &str) -> PathBuf {
    let directory = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("config-vmac")
        .join(test);
    std::fs::create_dir_all(&directory).expect("the target directory is writable");
    let path = directory.join("keepalived.conf");
    std::fs::write(&path, text).expect("the target directory is writable");
    path
}

#[test]
fn virtual_mac_true_takes_keepalived_s_name_and_moves_the_addresses() {
    let config = load(&format!("{WEB}virtual_mac = true\n"));
    let web = &config.instances[0];
    assert_eq!(
        web.virtual_mac,
        Some(VirtualMac {
            name: "vrrp.51".into(),
            xmit_base: false
        })
    );
    assert_eq!(web.interface_of(&web.virtual_addresses[0]), "vrrp.51");
    assert_eq!(web.advert_interface(), "vrrp.51");
    assert_eq!(load(WEB).instances[0].virtual_mac, None);
    assert_eq!(
        load(&format!("{WEB}virtual_mac = false\n")).instances[0].virtual_mac,
        None
    );
}

#[test]
fn a_named_virtual_mac_with_xmit_base_advertises_from_the_interface() {
    let config = load(&format!(
        "{WEB}virtual_mac = \"vmac51\"\nvirtual_mac_xmit_base = true\n"
    ));
    let web = &config.instances[0];
    assert_eq!(
        web.virtual_mac,
        Some(VirtualMac {
            name: "vmac51".into(),
            xmit_base: true
        })
    );
    assert_eq!(web.interface_of(&web.virtual_addresses[0]), "vmac51");
    assert_eq!(web.advert_interface(), "eth0");
}

#[test]
fn an_address_with_its_own_device_stays_there() {
    let config = load(&format!(
        "{WEB}virtual_mac = true\nexcluded_addresses = [{{ address = \"198.51.100.1/24\", \
         dev = \"eth1\" }}]\n"
    ));
    let web = &config.instances[0];
    assert_eq!(web.interface_of(&web.excluded_addresses[0]), "eth1");
}

#[test]
fn what_keepalived_refuses_with_a_virtual_mac_is_refused_naming_the_field() {
    assert_eq!(
        problems(&format!("{WEB}virtual_mac_xmit_base = true\n")),
        [
            "test.toml:5: instances.web.virtual_mac_xmit_base: sends adverts from the interface \
          instead of the virtual MAC interface, and there is none; set virtual_mac = true or \
          remove this"
        ]
    );
    assert_eq!(
        problems(&format!(
            "{WEB}virtual_mac = true\nunicast_peers = [\"192.0.2.2\"]\n"
        )),
        [
            "test.toml:5: instances.web.virtual_mac: unicast peers with a virtual MAC need \
          virtual_mac_xmit_base = true, as in keepalived: unicast adverts go from the \
          interface itself"
        ]
    );
    assert_eq!(
        problems(&format!("{WEB}virtual_mac = \"eth0\"\n")),
        [
            "test.toml:5: instances.web.virtual_mac: \"eth0\" is the instance's own interface; \
          the virtual MAC interface needs a name of its own"
        ]
    );
    let bad_name = problems(&format!("{WEB}virtual_mac = \"a/b\"\n"));
    assert!(
        bad_name[0].contains("cannot be an interface name"),
        "{bad_name:?}"
    );
    let too_long = problems(&format!("{WEB}virtual_mac = \"vrrp.0123456789ab\"\n"));
    assert!(too_long[0].contains("at most 15 bytes"), "{too_long:?}");
    let twice = problems(&format!(
        "{WEB}virtual_mac = true\n\n[instances.db]\ninterface = \"eth1\"\nvrid = 51\n\
         virtual_addresses = [\"198.51.100.1/24\"]\nvirtual_mac = true\n"
    ));
    assert_eq!(twice.len(), 1, "{twice:?}");
    assert!(
        twice[0].contains("has a virtual MAC interface named \"vrrp.51\" already"),
        "{twice:?}"
    );
}

#[test]
fn the_native_file_written_back_keeps_the_virtual_mac() {
    for lines in [
        "virtual_mac = true\n",
        "virtual_mac = \"vmac51\"\nvirtual_mac_xmit_base = true\n",
    ] {
        let config = load(&format!("{WEB}{lines}"));
        let written = to_native_toml(&config);
        let again = load(&written);
        assert_eq!(again.instances, config.instances, "{written}");
    }
}

#[test]
fn keepalived_use_vmac_and_vmac_xmit_base_translate_without_a_warning() {
    let path = write_conf(
        "use-vmac",
        "vrrp_instance web {\n interface eth0\n virtual_router_id 51\n use_vmac\n \
         virtual_ipaddress {\n  192.0.2.101/24\n }\n}\n\
         vrrp_instance db {\n interface eth0\n virtual_router_id 52\n use_vmac vmac52\n \
         vmac_xmit_base\n virtual_ipaddress {\n  192.0.2.102/24\n }\n}\n",
    );
    let (config, warnings) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    assert!(warnings.is_empty(), "{warnings:#?}");
    let vmacs: Vec<Option<VirtualMac>> = config
        .instances
        .iter()
        .map(|instance| instance.virtual_mac.clone())
        .collect();
    assert_eq!(
        vmacs,
        // Sorted by name: db, then web.
        [
            Some(VirtualMac {
                name: "vmac52".into(),
                xmit_base: true
            }),
            Some(VirtualMac {
                name: "vrrp.51".into(),
                xmit_base: false
            }),
        ]
    );
}

/// keepalived's `vmac_prefix`: a virtual MAC interface its instance does not name is
/// `PREFIX.VRID` (keepalived 2.2.7 with `vmac_prefix vk` made `vk.51`, measured here); one
/// the instance names keeps its name.
#[test]
fn keepalived_vmac_prefix_names_the_unnamed_virtual_macs() {
    let path = write_conf(
        "vmac-prefix",
        "global_defs {\n vmac_prefix vk\n}\n\
         vrrp_instance web {\n interface eth0\n virtual_router_id 51\n use_vmac\n \
         virtual_ipaddress {\n  192.0.2.101/24\n }\n}\n\
         vrrp_instance db {\n interface eth0\n virtual_router_id 52\n use_vmac vmac52\n \
         virtual_ipaddress {\n  192.0.2.102/24\n }\n}\n",
    );
    let (config, warnings) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    assert!(warnings.is_empty(), "{warnings:#?}");
    let names: Vec<Option<String>> = config
        .instances
        .iter()
        .map(|instance| instance.virtual_mac.as_ref().map(|vmac| vmac.name.clone()))
        .collect();
    assert_eq!(names, [Some("vmac52".into()), Some("vk.51".into())]);
}

#[test]
fn keepalived_sets_xmit_base_for_unicast_and_resets_it_in_strict_mode_with_a_warning() {
    let path = write_conf(
        "use-vmac-unicast",
        "vrrp_instance web {\n interface eth0\n virtual_router_id 51\n use_vmac\n \
         unicast_peer {\n  192.0.2.2\n }\n virtual_ipaddress {\n  192.0.2.101/24\n }\n}\n",
    );
    let (config, warnings) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    let printed: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    assert_eq!(printed.len(), 1, "{printed:#?}");
    assert!(
        printed[0].contains(":4: warning:") && printed[0].contains("vmac_xmit_base is set"),
        "{printed:#?}"
    );
    assert_eq!(
        config.instances[0].virtual_mac,
        Some(VirtualMac {
            name: "vrrp.51".into(),
            xmit_base: true
        })
    );

    let path = write_conf(
        "use-vmac-strict",
        "global_defs {\n vrrp_strict\n}\nvrrp_instance web {\n interface eth0\n \
         virtual_router_id 51\n use_vmac\n vmac_xmit_base\n virtual_ipaddress {\n  \
         192.0.2.101/24\n }\n}\n",
    );
    let (config, warnings) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    let printed: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    assert!(
        printed
            .iter()
            .any(|warning| warning.contains(":8: warning:") && warning.contains("strict mode")),
        "{printed:#?}"
    );
    assert_eq!(
        config.instances[0].virtual_mac,
        Some(VirtualMac {
            name: "vrrp.51".into(),
            xmit_base: false
        })
    );
}
