"""List a server's gRPC services by reflection and call its health check.

    python -m services.tools.grpc_probe 127.0.0.1:50051

A stand-in for ``grpcurl list`` + ``grpc.health.v1.Health/Check`` that needs
nothing beyond the platform's own dependencies.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc


async def probe(target: str, timeout: float = 5.0) -> tuple[list[str], dict[str, str]]:
    """(service names from reflection, health status of each)."""
    async with grpc.aio.insecure_channel(target) as channel:
        stream = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=timeout)
        names: list[str] = []
        async for response in stream:
            names += [s.name for s in response.list_services_response.service]
        health = health_pb2_grpc.HealthStub(channel)
        status: dict[str, str] = {}
        for name in ["", *names]:
            if name.startswith("grpc.reflection"):
                continue
            reply = await health.Check(health_pb2.HealthCheckRequest(service=name), timeout=timeout)
            status[name or "(server)"] = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    return sorted(names), status


def main() -> int:
    """Print the services and their health; exit 1 if anything is not SERVING."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", help="host:port")
    args = parser.parse_args()
    try:
        names, status = asyncio.run(probe(args.target))
    except grpc.RpcError as err:
        print(f"{args.target}: {err.code().name}: {err.details()}", file=sys.stderr)
        return 1
    for name in names:
        print(name)
    for name, state in status.items():
        print(f"health {name}: {state}")
    return 0 if all(s == "SERVING" for s in status.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
