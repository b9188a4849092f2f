"""Registers N pushed health checks on a vrrp-sidecar daemon and keeps every lease alive,
each check on its own ReportHealth stream, until stdin closes or SIGTERM arrives.

Usage: load.py SOCKET STUBS_DIR COUNT INSTANCE REPORT_SECONDS LEASE_SECONDS
Prints "ready N" once every check is registered and has had its first report acknowledged.
"""
import asyncio
import signal
import sys

import grpc
from google.protobuf import duration_pb2

socket_path, stubs, count, instance, every, lease = sys.argv[1:7]
sys.path.insert(0, stubs)
from vrrp.v1 import sidecar_pb2 as pb, sidecar_pb2_grpc as rpc  # noqa: E402

count, every, lease = int(count), float(every), float(lease)


async def keep_alive(stub, name, first_ack):
    async def reports():
        while True:
            yield pb.HealthReport(check_name=name, passing=True, message="ok")
            await asyncio.sleep(every)

    async for _ack in stub.ReportHealth(reports()):
        if not first_ack.done():
            first_ack.set_result(True)


async def main():
    channel = grpc.aio.insecure_channel("unix://" + socket_path)
    stub = rpc.SidecarStub(channel)
    ttl = duration_pb2.Duration()
    ttl.FromNanoseconds(int(lease * 1e9))
    tasks, acks = [], []
    for index in range(count):
        name = f"load-{index:04d}"
        spec = pb.HealthCheckSpec(
            name=name, instance_names=[instance], weight=-1,
            pushed=pb.PushedCheck(lease_ttl=ttl),
        )
        await stub.RegisterHealthCheck(pb.RegisterHealthCheckRequest(spec=spec))
        ack = asyncio.get_running_loop().create_future()
        acks.append(ack)
        tasks.append(asyncio.create_task(keep_alive(stub, name, ack)))
        # Spread the streams over one report interval so they do not all report at once.
        await asyncio.sleep(every / count)
    await asyncio.wait_for(asyncio.gather(*acks), timeout=60)
    print("ready", count, flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    for task in tasks:
        task.cancel()
    await channel.close()


asyncio.run(main())
