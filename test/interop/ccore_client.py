#!/usr/bin/python3
"""A gRPC C-core xDS client (Debian's python3-grpcio) for interop tests.

Reads its bootstrap from GRPC_XDS_BOOTSTRAP_CONFIG, dials the xds:/// target given as the
first argument and makes N SayHello calls with optional metadata, then prints one JSON
line: {"v1": n, "v2": n, "errors": n, "lastError": "..."}. The helloworld messages are
encoded by hand (field 1 = name; reply field 2 = version), so no generated stubs are needed.
"""
import json
import sys

import grpc


def encode_request(name: bytes) -> bytes:
    return b"\x0a" + bytes([len(name)]) + name


def decode_version(data: bytes) -> str:
    i = 0
    while i < len(data):
        tag = data[i]
        i += 1
        length = 0
        shift = 0
        while True:
            b = data[i]
            i += 1
            length |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
        value = data[i : i + length]
        i += length
        if tag == 0x12:
            return value.decode()
    return "none"


def main() -> None:
    target = sys.argv[1]
    calls = int(sys.argv[2])
    metadata = tuple(tuple(kv.split("=", 1)) for kv in sys.argv[3:])
    counts = {"v1": 0, "v2": 0, "errors": 0, "lastError": ""}
    with grpc.insecure_channel(target) as channel:
        say_hello = channel.unary_unary(
            "/helloworld.Greeter/SayHello",
            request_serializer=lambda x: x,
            response_deserializer=lambda x: x,
        )
        for _ in range(calls):
            try:
                reply = say_hello(encode_request(b"interop"), metadata=metadata, timeout=10)
                version = decode_version(reply)
                counts[version] = counts.get(version, 0) + 1
            except grpc.RpcError as err:  # counted, the test decides
                counts["errors"] += 1
                counts["lastError"] = f"{err.code()}: {err.details()}"
    print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    main()
