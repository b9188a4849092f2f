//! The daemon's API from clients that are not ours: the real grpcurl (reflection only, no
//! proto files) and a Python grpcio client whose stubs are generated from `proto/` here.

mod api_lab;
mod daemon_lab;
mod netns;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use api_lab::{CI_VENV, require_python_grpc, require_tool};
use daemon_lab::{DaemonLab, InstanceSpec, MARGIN, master_down_interval_100ms};
use netns::{Lab, require_root};

fn lab(hosts: &[&str]) -> DaemonLab {
    let mut builder = Lab::builder();
    for host in hosts {
        builder = builder.host(host);
    }
    DaemonLab::new(builder.build())
}

/// `-authority localhost`: grpcurl 1.8.6 (and grpc-go before 1.8.9's fix) sends the socket
/// path as the HTTP/2 `:authority` over a Unix socket, which the h2 crate under tonic refuses
/// with RST_STREAM PROTOCOL_ERROR (hyperium/h2#487); newer grpcurl sends `localhost` itself.
const AUTHORITY: [&str; 2] = ["-authority", "localhost"];

fn grpcurl(binary: &Path, socket: &Path, arguments: &[&str]) -> Output {
    let socket = socket.display().to_string();
    let mut command = Command::new(binary);
    command
        .args(["-plaintext", "-unix", "-max-time", "10"])
        .args(AUTHORITY);
    let (options, call): (Vec<&str>, Vec<&str>) = arguments
        .iter()
        .partition(|argument| argument.starts_with('-') || argument.starts_with('{'));
    command.args(options).arg(&socket).args(call);
    command.output().expect("grpcurl runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
#[ignore = "lab: needs root, grpcurl; scripts/test runs it"]
fn grpcurl_lists_services_calls_list_instances_and_watches_a_failover() {
    let test = "grpcurl_lists_services_calls_list_instances_and_watches_a_failover";
    require_root(test);
    let grpcurl_binary = require_tool(test, "grpcurl", &PathBuf::from(CI_VENV).join("bin/grpcurl"));
    let lab = lab(&["h1", "h2"]);
    let (master, _backup) =
        lab.start_pair("h1", InstanceSpec::v3(150), "h2", InstanceSpec::v3(100));
    let socket = lab.api_socket("h2");

    let listed = grpcurl(&grpcurl_binary, &socket, &["list"]);
    let listed_text = text(&listed);
    assert!(listed.status.success(), "{listed_text}");
    for service in [
        "vrrp.v1.Sidecar",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ] {
        assert!(
            listed_text.contains(service),
            "{service} not listed:\n{listed_text}"
        );
    }
    let health = grpcurl(&grpcurl_binary, &socket, &["grpc.health.v1.Health/Check"]);
    assert!(text(&health).contains("\"SERVING\""), "{}", text(&health));
    let instances = grpcurl(&grpcurl_binary, &socket, &["vrrp.v1.Sidecar/ListInstances"]);
    let instances_text = text(&instances);
    assert!(instances.status.success(), "{instances_text}");
    assert!(
        instances_text.contains("\"name\": \"vi\"") && instances_text.contains("STATE_BACKUP"),
        "{instances_text}"
    );

    // A WatchState stream, read line by line in a thread.
    let mut watcher = Command::new(&grpcurl_binary)
        .args(["-plaintext", "-unix", "-d", r#"{"instance_names": ["vi"]}"#])
        .args(AUTHORITY)
        .arg(socket.display().to_string())
        .arg("vrrp.v1.Sidecar/WatchState")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("grpcurl starts");
    let stdout = watcher.stdout.take().expect("piped");
    let (lines_sender, lines) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_sender.send(line).is_err() {
                return;
            }
        }
    });
    let mut seen = String::new();
    let mut read_until = |needle: &str, timeout: Duration| -> Duration {
        let started = Instant::now();
        while !seen.contains(needle) {
            let left = timeout.saturating_sub(started.elapsed());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    seen.push_str(&line);
                    seen.push('\n');
                }
                Err(_) => panic!("{needle} not seen within {timeout:?}:\n{seen}"),
            }
        }
        started.elapsed()
    };
    read_until("snapshotComplete", Duration::from_secs(5));
    lab.signal(&master, Signal::SIGKILL);
    let took = read_until(
        "TRANSITION_REASON_MASTER_DOWN_TIMER",
        master_down_interval_100ms(100) + MARGIN,
    );
    println!("grpcurl printed the take-over {took:?} after the kill");
    // Read the rest of that message (its closing brace ends the JSON object).
    read_until("\n}", MARGIN);
    let transition_start = seen.find("\"transition\"").expect("a transition");
    let transition = &seen[transition_start..];
    assert!(
        transition.contains("\"from\": \"STATE_BACKUP\"")
            && transition.contains("\"to\": \"STATE_MASTER\""),
        "{seen}"
    );
    // Our own child, by its id.
    watcher.kill().expect("grpcurl is ours to stop");
    watcher.wait().expect("grpcurl reaped");
    reader.join().expect("reader thread");
    lab.finish();
}

/// The Python client: watches `vi`, raises its priority above the master's and prints the
/// transition it then sees.
const PYTHON_CLIENT: &str = r#"
import sys, time, grpc
sys.path.insert(0, sys.argv[2])
from vrrp.v1 import sidecar_pb2 as pb, sidecar_pb2_grpc as rpc

# grpcio sends the socket path as :authority unless told otherwise, and the h2 crate under
# tonic refuses a path there.
channel = grpc.insecure_channel("unix://" + sys.argv[1],
                                options=[("grpc.default_authority", "localhost")])
stub = rpc.SidecarStub(channel)
stream = stub.WatchState(pb.WatchStateRequest(instance_names=["vi"]), timeout=15)
for message in stream:
    if message.WhichOneof("kind") == "snapshot_complete":
        break
changed = stub.SetPriority(pb.SetPriorityRequest(instance_name="vi", priority=200))
print("set", changed.instance.base_priority, flush=True)
try:
    stub.SetPriority(pb.SetPriorityRequest(instance_name="vi", priority=0))
except grpc.RpcError as error:
    print("refused", error.code().name, flush=True)
for message in stream:
    if message.WhichOneof("kind") == "transition":
        t = message.transition
        print("transition", pb.State.Name(getattr(t, "from")), pb.State.Name(t.to),
              pb.TransitionReason.Name(t.reason), flush=True)
        break
"#;

#[test]
#[ignore = "lab: needs root, grpcio; scripts/test runs it"]
fn a_python_grpcio_client_sets_priority_and_sees_the_transition() {
    let test = "a_python_grpcio_client_sets_priority_and_sees_the_transition";
    require_root(test);
    let python = require_python_grpc(test);
    let stubs = std::env::temp_dir().join(format!("vst-python-stubs-{}", std::process::id()));
    std::fs::create_dir_all(&stubs).expect("stub directory");
    let proto_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("proto");
    let generated = Command::new(&python)
        .args(["-m", "grpc_tools.protoc"])
        .arg(format!("-I{}", proto_root.display()))
        .arg(format!("--python_out={}", stubs.display()))
        .arg(format!("--grpc_python_out={}", stubs.display()))
        .arg(proto_root.join("vrrp/v1/sidecar.proto"))
        .output()
        .expect("grpc_tools.protoc runs");
    assert!(generated.status.success(), "{}", text(&generated));

    let lab = lab(&["h1", "h2"]);
    lab.start_pair("h1", InstanceSpec::v3(150), "h2", InstanceSpec::v3(100));
    let socket = lab.api_socket("h2");
    let started = Instant::now();
    let output = Command::new(&python)
        .args(["-c", PYTHON_CLIENT])
        .arg(&socket)
        .arg(&stubs)
        .output()
        .expect("python runs");
    let printed = text(&output);
    println!(
        "the Python client ran for {:?}:\n{printed}",
        started.elapsed()
    );
    assert!(output.status.success(), "{printed}");
    assert!(printed.contains("set 200"), "{printed}");
    assert!(printed.contains("refused INVALID_ARGUMENT"), "{printed}");
    assert!(
        printed.contains("transition STATE_BACKUP STATE_MASTER TRANSITION_REASON_PREEMPTION"),
        "{printed}"
    );
    assert!(
        lab.wait_holding("h2", daemon_lab::VIP, true, MARGIN)
            .is_some()
    );
    let _ = std::fs::remove_dir_all(&stubs);
    lab.finish();
}
