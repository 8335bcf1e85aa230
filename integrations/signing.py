"""The signature every webhook delivery carries.

`X-Chatportal-Signature: t=<unix seconds>,v1=<hex>` where the hex is
HMAC-SHA256 with the endpoint's secret over `<t>.<body>` (the raw bytes of
the request body). The timestamp inside the signed text lets a receiver
refuse replays older than a few minutes (docs/protocol.md has a snippet).
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Chatportal-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"
