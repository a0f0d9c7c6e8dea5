"""agent-pdp-guard console script."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from ..client import PdpError
from .config import ConfigError, load_config
from .server import Guard, serve_stdio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agent-pdp-guard",
                                     description="MCP guard: every tools/call is decided by agent-pdp first.")
    parser.add_argument("--config", required=True, help="the guard's YAML file")
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio",
                        help="how MCP clients reach the guard (default stdio)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--path", default="/mcp", help="streamable HTTP endpoint path")
    args = parser.parse_args(argv)
    # Logs go to stderr: on stdio, stdout carries the protocol.
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        config = load_config(args.config)
    except (ConfigError, OSError) as error:
        print(f"agent-pdp-guard: {error}", file=sys.stderr)
        return 2
    guard = Guard(config)
    try:
        guard.prepare()
    except (ConfigError, PdpError) as error:
        print(f"agent-pdp-guard: {error}", file=sys.stderr)
        return 2
    if args.transport == "stdio":
        asyncio.run(serve_stdio(guard))
        return 0
    import uvicorn

    app = guard.server.streamable_http_app(streamable_http_path=args.path, host=args.host)
    print(f"agent-pdp-guard: MCP endpoint http://{args.host}:{args.port}{args.path}", file=sys.stderr, flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
