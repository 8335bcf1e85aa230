"""Container health check for a Chatportal worker: readiness and the WebSocket path.

Standard library only (it runs inside the image without dev dependencies).
`GET /readyz` must answer 200: the worker reaches its database and its
channel layer (chatportal/health.py), and is not draining for a shutdown.
A plain HTTP probe would call a worker healthy whose WebSocket routing or
Origin check is broken, the failure peers' users hit behind proxies; so this
also performs a real WebSocket handshake on /ws/widget/ and expects 101.

    python deploy/healthcheck.py [--host 127.0.0.1] [--port 8000]
Exit status 0 when healthy, 1 otherwise (with the reason on stderr).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import os
import socket
import sys


def check_ready(host: str, port: int, timeout: float) -> None:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", "/readyz", headers={"Host": host})
        response = conn.getresponse()
        status, body = response.status, response.read(2048)
    finally:
        conn.close()
    if status != 200:
        # /readyz names the failed check ("database", "channel_layer") or "draining".
        raise RuntimeError(f"GET /readyz answered {status}: {body.decode(errors='replace')}")


def check_websocket(host: str, port: int, timeout: float) -> None:
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        "GET /ws/widget/ HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        # Our own host is always an allowed Origin (foundation/origins.py).
        f"Origin: http://{host}:{port}\r\n"
        "\r\n"
    )
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(request.encode())
        status_line = sock.recv(4096).split(b"\r\n", 1)[0].decode(errors="replace")
        if " 101 " not in f"{status_line} ":
            raise RuntimeError(f"WebSocket handshake answered {status_line!r}")
        # Close politely: a close frame (masked, code 1000), then hang up.
        sock.sendall(bytes([0x88, 0x82]) + b"\x00\x00\x00\x00" + (1000).to_bytes(2, "big"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Chatportal worker health check")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("CHATPORTAL_PORT", "8000")))
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args(argv)
    try:
        check_ready(args.host, args.port, args.timeout)
        check_websocket(args.host, args.port, args.timeout)
    except (OSError, RuntimeError, http.client.HTTPException) as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
