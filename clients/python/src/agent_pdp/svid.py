"""Sources of the agent's workload identity: a SPIFFE JWT-SVID sent as `agent.workload_identity_token`."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class SvidSource(Protocol):
    def jwt_svid(self) -> str | None:
        """The current JWT-SVID, or None when there is none."""


class NoSvid:
    def jwt_svid(self) -> str | None:
        return None


class FileSvidSource:
    """Reads a JWT-SVID from a file (e.g. written by spiffe-helper); re-read on every call so rotation works."""

    def __init__(self, path: str | Path):
        self._path = Path(path)

    def jwt_svid(self) -> str | None:
        token = self._path.read_text(encoding="ascii").strip()
        return token or None


class WorkloadApiSvidSource:
    """Fetches a JWT-SVID for `audience` from the SPIFFE Workload API (SPIRE agent socket).

    `socket_path` is like `unix:///run/spire/sockets/agent.sock`; None uses SPIFFE_ENDPOINT_SOCKET.
    """

    def __init__(self, audience: str, socket_path: str | None = None):
        from spiffe import WorkloadApiClient  # the `spiffe` extra; imported only when used

        self._audience = {audience}
        self._client = WorkloadApiClient(socket_path) if socket_path else WorkloadApiClient()

    def jwt_svid(self) -> str | None:
        return self._client.fetch_jwt_svid(audience=self._audience).token

    def close(self) -> None:
        self._client.close()
