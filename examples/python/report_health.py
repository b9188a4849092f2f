"""An application that ties its host's mastership to its own health, in Python with grpcio.

It talks to vrrp-sidecar over the API's Unix socket with grpcio's defaults (nothing added to
the channel), lists the instances, watches one of them, registers a *pushed* health check for
it with a lease, reports passing a few times and then failing, and prints what the daemon
does about it: the priority drop the check's weight causes and, if a backup now outranks this
host, the transition away from MASTER. It unregisters its check before it exits.

Stubs come from proto/ with grpcio-tools (pip install grpcio grpcio-tools):

    python3 -m grpc_tools.protoc -I proto --python_out=gen --grpc_python_out=gen \
        proto/vrrp/v1/sidecar.proto
    PYTHONPATH=gen python3 examples/python/report_health.py /run/vrrp-sidecar/api.sock vi_1

A real application keeps reporting passing for as long as it is healthy: a report must arrive
within the lease, and a closed stream (the process died) counts as a failure at once.
tests/api_clients.rs runs this file against the daemon.
"""

import argparse
import queue
import sys
import threading
import time

import grpc
from google.protobuf import duration_pb2

from vrrp.v1 import sidecar_pb2 as pb
from vrrp.v1 import sidecar_pb2_grpc as rpc


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("socket", help="the API socket, e.g. /run/vrrp-sidecar/api.sock")
    parser.add_argument("instance", help="the VRRP instance the check moves")
    parser.add_argument("--check", default="example-app", help="the check's name")
    parser.add_argument("--weight", type=int, default=-60, help="subtracted while failing")
    parser.add_argument("--lease", type=float, default=2.0, help="lease TTL in seconds")
    parser.add_argument("--passing", type=int, default=5, help="passing reports first")
    parser.add_argument("--wait", type=float, default=10.0, help="seconds to watch the effect")
    arguments = parser.parse_args()

    channel = grpc.insecure_channel("unix://" + arguments.socket)
    stub = rpc.SidecarStub(channel)

    for instance in stub.ListInstances(pb.ListInstancesRequest(), timeout=5).instances:
        print("instance", instance.name, pb.State.Name(instance.state),
              "priority", instance.effective_priority, flush=True)

    # WatchState streams a snapshot, SnapshotComplete, then events; a thread hands them over.
    events = queue.Queue()
    watch = stub.WatchState(pb.WatchStateRequest(instance_names=[arguments.instance]))

    def read_watch():
        try:
            for message in watch:
                events.put(message)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                events.put(error)

    threading.Thread(target=read_watch, daemon=True).start()
    state = None
    while True:
        message = next_event(events, 5)
        kind = message.WhichOneof("kind")
        if kind == "snapshot":
            state = message.snapshot.instance.state
        elif kind == "snapshot_complete":
            break
    print("watching", arguments.instance, pb.State.Name(state), flush=True)

    lease = duration_pb2.Duration()
    lease.FromNanoseconds(int(arguments.lease * 1e9))
    spec = pb.HealthCheckSpec(name=arguments.check, instance_names=[arguments.instance],
                              weight=arguments.weight, pushed=pb.PushedCheck(lease_ttl=lease))
    stub.RegisterHealthCheck(pb.RegisterHealthCheckRequest(spec=spec), timeout=5)
    print("registered", arguments.check, flush=True)

    # Reports well within the lease; after the passing ones, failing until told to stop.
    stop_reporting = threading.Event()

    def reports():
        for _ in range(arguments.passing):
            yield pb.HealthReport(check_name=arguments.check, passing=True, message="ready")
            time.sleep(arguments.lease / 4)
        while not stop_reporting.is_set():
            yield pb.HealthReport(check_name=arguments.check, passing=False,
                                  message="failing on purpose")
            stop_reporting.wait(arguments.lease / 4)

    acknowledgements = stub.ReportHealth(reports())

    def read_acknowledgements():
        try:
            for ack in acknowledgements:
                print("ack passing" if ack.check.passing else "ack failing", flush=True)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                print("report stream failed:", error.code().name, flush=True)

    reader = threading.Thread(target=read_acknowledgements, daemon=True)
    reader.start()

    # What the failing check does: a lower priority, and mastership gone if a backup outranks us.
    deadline = time.monotonic() + arguments.wait
    dropped = False
    while time.monotonic() < deadline:
        try:
            message = next_event(events, deadline - time.monotonic())
        except TimeoutError:
            break
        kind = message.WhichOneof("kind")
        if kind == "priority_change" and message.priority_change.health_check_name == arguments.check:
            change = message.priority_change
            print("priority", change.instance_name, change.base_priority, change.effective_priority,
                  "check=" + change.health_check_name, flush=True)
            dropped = True
            if state != pb.STATE_MASTER:
                break
        elif kind == "transition":
            t = message.transition
            print("transition", t.instance_name, pb.State.Name(getattr(t, "from")),
                  pb.State.Name(t.to), pb.TransitionReason.Name(t.reason), flush=True)
            if getattr(t, "from") == pb.STATE_MASTER:
                break

    stop_reporting.set()
    acknowledgements.cancel()
    watch.cancel()
    reader.join(timeout=5)
    stub.UnregisterHealthCheck(pb.UnregisterHealthCheckRequest(name=arguments.check), timeout=5)
    print("unregistered", arguments.check, flush=True)
    channel.close()
    return 0 if dropped else 1


def next_event(events, timeout):
    """The next WatchState message within `timeout` seconds; a failed stream raises."""
    try:
        message = events.get(timeout=max(timeout, 0))
    except queue.Empty:
        raise TimeoutError("nothing on the WatchState stream") from None
    if isinstance(message, grpc.RpcError):
        raise message
    return message


if __name__ == "__main__":
    sys.exit(main())
