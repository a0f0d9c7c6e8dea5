"""A small FastMCP tool server (a CRM) with a read, a write, a delete and an export tool: the upstream of
`make run`'s guard demo and of the guard's integration tests. When $UPSTREAM_RECORD is set, every call
(tool, arguments, the credential it received) is appended to that file as one JSON line (tests only: it
writes the credential down so that the test can check it against OpenBao).

Run as: python upstream_server.py PORT   (streamable HTTP on 127.0.0.1:PORT/mcp)
        python upstream_server.py stdio  (stdio; the credential arrives in $UPSTREAM_TOKEN)
"""

from __future__ import annotations

import json
import os
import sys

from fastmcp import FastMCP
from fastmcp.server.dependencies import get_http_headers

RECORD = os.environ.get("UPSTREAM_RECORD")
mcp = FastMCP("crm-upstream")


def _record(tool: str, arguments: dict) -> None:
    if not RECORD:
        return
    headers = get_http_headers(include_all=True)
    entry = {
        "tool": tool,
        "arguments": arguments,
        "authorization": headers.get("authorization"),
        "x_vault_token": headers.get("x-vault-token"),
        "env_token": os.environ.get("UPSTREAM_TOKEN"),
    }
    with open(RECORD, "a", encoding="utf-8") as out:
        out.write(json.dumps(entry) + "\n")


@mcp.tool
def read_contact(contact_id: str) -> str:
    """Read one CRM contact."""
    _record("read_contact", {"contact_id": contact_id})
    return f"contact {contact_id}: Jane Roe, jane.roe@example.com, +1 555 123 4567"


@mcp.tool
def update_contact(contact_id: str, name: str) -> str:
    """Update a CRM contact's name."""
    _record("update_contact", {"contact_id": contact_id, "name": name})
    return f"contact {contact_id} renamed to {name}"


@mcp.tool
def delete_contact(contact_id: str) -> str:
    """Delete a CRM contact."""
    _record("delete_contact", {"contact_id": contact_id})
    return f"contact {contact_id} deleted"


@mcp.tool
def export_contacts(segment: str) -> str:
    """Export every contact of a segment (not in the agent's manifest)."""
    _record("export_contacts", {"segment": segment})
    return f"exported {segment}"


if __name__ == "__main__":
    if sys.argv[1] == "stdio":
        mcp.run(transport="stdio", show_banner=False)
    else:
        mcp.run(transport="http", host="127.0.0.1", port=int(sys.argv[1]), show_banner=False)
