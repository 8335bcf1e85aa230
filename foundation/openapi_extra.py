"""`openapi_extra` pieces for routes that read the request themselves.

Ninja documents what it parses; an upload view reading `request.FILES`, a
download streaming a file or the MTA hook reading the raw body are declared
here instead, so the OpenAPI document still says what they take and answer.
Response keys are ints, as ninja's own are, so the two merge.
"""

from __future__ import annotations

from typing import Any

# Routes with auth=None that still read the bearer token themselves.
BEARER: dict[str, Any] = {"security": [{"AgentTokenAuth": []}]}

FILE_DOWNLOAD: dict[str, Any] = {
    "responses": {
        200: {
            "description": "The file, with the content type it was stored with",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        }
    }
}


def multipart_body(properties: dict[str, Any], *, required: list[str]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {"type": "object", "properties": properties, "required": required}
                }
            },
        }
    }


def raw_body(media_type: str, description: str, *, example: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {
                media_type: {"schema": {"type": "string", "format": "binary"}, "example": example}
            },
        }
    }
