"""Sources of the agent's workload identity: a SPIFFE JWT-SVID sent as `agent.workload_identity_token`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


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
    """Fetches a JWT-SVID for `audience` (the PDP's, e.g. `agent-pdp`) from the SPIFFE Workload API of the local
    SPIRE agent, on every call: SPIRE caches and rotates it, so a call never sends an expired one.

    `socket_path` is like `unix:///run/spire/sockets/agent.sock`; None uses SPIFFE_ENDPOINT_SOCKET. `spiffe_id`
    picks one identity when the workload has several (None: the first the agent returns). `timeout` bounds each
    fetch (seconds); a failure raises (`spiffe.FetchJwtSvidError`), and the guard then sends no identity.
    """

    def __init__(self, audience: str, socket_path: str | None = None, *, spiffe_id: str | None = None,
                 timeout: float = 5.0):
        from spiffe import SpiffeId  # the `spiffe` extra; imported only when used

        self._audience = {audience}
        self._subject = SpiffeId(spiffe_id) if spiffe_id else None
        self._socket_path = socket_path
        self._timeout = timeout
        self._client: Any = None

    def jwt_svid(self) -> str | None:
        # Connected on first use (and again after a failure), so a guard may start before its SPIRE agent.
        from spiffe import WorkloadApiClient

        if self._client is None:
            self._client = WorkloadApiClient(self._socket_path, default_timeout=self._timeout)
        try:
            return self._client.fetch_jwt_svid(audience=self._audience, subject=self._subject,
                                               timeout=self._timeout).token
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            client.close()
