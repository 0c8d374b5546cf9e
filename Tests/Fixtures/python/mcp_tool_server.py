"""A small MCP server, written with the real `mcp` package (MCPServer, formerly
FastMCP), whose tools the kernel consumes through `agentctl mcp add`.

    mcp_tool_server.py [MODE] [PORT]

MODE (default "normal") says how it serves, or how it misbehaves for the bad-input tests:
    normal        serves the tools below on stdio
    http PORT     serves them with MCP's Streamable HTTP at http://127.0.0.1:PORT/mcp;
                  with $MCP_FIXTURE_AUTHORIZATION set, it answers 401 to any request
                  whose Authorization header is not that value; with
                  $MCP_FIXTURE_TLS_CERT and $MCP_FIXTURE_TLS_KEY set (PEM files), https://
    grows FILE    serves them on stdio with a tool set that changes: when FILE
                  exists, extra() in place of weather(); grow() creates FILE, makes
                  that change at once and sends notifications/tools/list_changed
    never         exits at once, before MCP's initialize
    garbage       answers initialize with a line that is not JSON-RPC, then nothing
Tools: multiply(a, b); weather(city) -> {"city", "temperature_c"}; fail(); hang()
(blocks the whole server, which then answers no ping); sleepy() (waits, still
answering pings, and writes "sleepy cancelled" to stderr when the call is
cancelled); die() (exits mid-call); and an odd-name tool the kernel cannot offer.
"""

import os
import sys
import time

import anyio

from mcp.server.mcpserver import Context, MCPServer

mode = sys.argv[1] if len(sys.argv) > 1 else "normal"
if mode == "never":
    sys.stderr.write("mcp_tool_server: exiting before initialize\n")
    sys.exit(3)
if mode == "garbage":
    for _ in sys.stdin:
        sys.stdout.write("this is not JSON-RPC\n")
        sys.stdout.flush()
    sys.exit(0)

server = MCPServer("fixture")


@server.tool()
def multiply(a: float, b: float) -> float:
    """Multiply two numbers."""
    return a * b


@server.tool()
def weather(city: str) -> dict:
    """The weather in a city (a fixed answer)."""
    return {"city": city, "temperature_c": 21}


@server.tool()
def fail() -> str:
    """Always fails."""
    raise ValueError("the fixture tool failed on purpose")


@server.tool()
async def hang() -> str:
    """Never returns (within any test's patience), and blocks the server's event loop meanwhile."""
    time.sleep(3600)
    return "late"


@server.tool()
async def sleepy() -> str:
    """Waits (within any test's patience) without blocking the server."""
    try:
        await anyio.sleep(3600)
    except anyio.get_cancelled_exc_class():
        sys.stderr.write("sleepy cancelled\n")
        sys.stderr.flush()
        raise
    return "late"


@server.tool()
def die() -> str:
    """Exits the server mid-call."""
    os._exit(7)


@server.tool(name="odd.name")
def odd_name() -> str:
    """A name with a dot, which kernel tool names cannot carry."""
    return "odd"


def extra() -> str:
    """Offered once the tool set changed (mode grows)."""
    return "extra"


def grown():
    server.remove_tool("weather")
    server.add_tool(extra)


async def grow(ctx: Context) -> str:
    """Changes the tool set (mode grows) and tells the client."""
    open(sys.argv[2], "w").close()
    grown()
    await ctx.session.send_tool_list_changed()
    return "grown"


def require_authorization(app, expected):
    """The ASGI app `app`, answering 401 to HTTP requests without `Authorization: expected`."""

    async def guarded(scope, receive, send):
        if scope["type"] == "http" and dict(scope["headers"]).get(b"authorization", b"").decode() != expected:
            await send({"type": "http.response.start", "status": 401, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"missing or wrong Authorization header"})
            return
        await app(scope, receive, send)

    return guarded


if __name__ == "__main__":
    if mode == "http":
        import uvicorn

        app = server.streamable_http_app()
        expected = os.environ.get("MCP_FIXTURE_AUTHORIZATION")
        if expected is not None:
            app = require_authorization(app, expected)
        uvicorn.run(
            app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning",
            ssl_certfile=os.environ.get("MCP_FIXTURE_TLS_CERT"), ssl_keyfile=os.environ.get("MCP_FIXTURE_TLS_KEY"))
    else:
        if mode == "grows":
            server.add_tool(grow)
            if os.path.exists(sys.argv[2]):
                grown()
        server.run("stdio")
