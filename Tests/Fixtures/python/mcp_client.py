"""A client of AgentOS's MCP server, written with the real `mcp` package.

    mcp_client.py http URL KEY OPS       Streamable HTTP at URL with `Authorization: Bearer KEY` ("-": none)
    mcp_client.py stdio OPS COMMAND...   stdio, starting COMMAND (e.g. agentctl mcp serve) with $AGENTOS_HOME

OPS is a JSON list of operations, run in order in one session:
    ["list"]                     -> {"tools": [{"name", "description", "inputSchema"}]}
    ["call", NAME, ARGUMENTS]    -> {"isError": bool, "text": "..."}  or  {"error": {"code", "message"}}
Prints one JSON object: {"server": NAME, "results": [...]}, or {"connect_error": "..."} when
the session cannot be opened (no key, a wrong key). The Swift tests check the output.
"""

import asyncio
import json
import os
import sys

from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError


def describe(error: BaseException) -> str:
    """The innermost messages of an exception (group)."""
    if isinstance(error, BaseExceptionGroup):
        return "; ".join(describe(inner) for inner in error.exceptions)
    return f"{type(error).__name__}: {error}"


async def run(server, ops):
    results = []
    try:
        async with Client(server) as client:  # the default: probes server/discover, falls back to initialize
            for op in ops:
                if op[0] == "list":
                    listed = await client.list_tools()
                    results.append({"tools": [
                        {"name": t.name, "description": t.description, "inputSchema": t.input_schema}
                        for t in listed.tools]})
                elif op[0] == "call":
                    try:
                        result = await client.call_tool(op[1], op[2])
                        text = "".join(c.text for c in result.content if getattr(c, "type", "") == "text")
                        results.append({"isError": bool(result.is_error), "text": text})
                    except MCPError as error:
                        results.append({"error": {"code": error.code, "message": error.message}})
                else:
                    raise SystemExit(f"unknown op {op!r}")
            name = client.server_info.name if client.server_info else None
    except (Exception, BaseExceptionGroup) as error:  # noqa: BLE001 - reported to the test
        if results:
            raise
        return {"connect_error": describe(error)}
    return {"server": name, "results": results}


def main():
    if sys.argv[1] == "http":
        url, key, ops = sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
        headers = {} if key == "-" else {"Authorization": f"Bearer {key}"}
        server = streamable_http_client(url, http_client=create_mcp_http_client(headers=headers))
    else:
        ops, command = json.loads(sys.argv[2]), sys.argv[3:]
        # The mcp package passes a server only a safe few variables; the kernel's home is one more.
        home = {"AGENTOS_HOME": os.environ["AGENTOS_HOME"]} if "AGENTOS_HOME" in os.environ else {}
        server = StdioServerParameters(command=command[0], args=command[1:], env=home)
    print(json.dumps(asyncio.run(run(server, ops))))


if __name__ == "__main__":
    main()
