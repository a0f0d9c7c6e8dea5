"""agent-pdp enforcement-point kit: PdpClient / AsyncPdpClient, credential and SVID helpers, and the
MCP guard (`agent-pdp-guard`, package agent_pdp.guard)."""

from .client import AsyncPdpClient, PdpClient, PdpError, parse_approval, parse_decision, parse_manifest
from .credentials import CredentialError, Secret, unwrap, unwrap_async, unwrap_with_hvac
from .model import AgentManifest, Approval, Credential, Decision, ManifestTool, Outcome, ToolCall
from .request import build_decision_request, call_digest, canonical_json, idempotency_key
from .svid import FileSvidSource, NoSvid, SvidSource, WorkloadApiSvidSource

__all__ = [
    "AgentManifest", "Approval", "AsyncPdpClient", "Credential", "CredentialError", "Decision", "FileSvidSource",
    "ManifestTool", "NoSvid", "Outcome", "PdpClient", "PdpError", "Secret", "SvidSource", "ToolCall", "WorkloadApiSvidSource",
    "build_decision_request", "call_digest", "canonical_json", "idempotency_key", "parse_approval",
    "parse_decision", "parse_manifest", "unwrap", "unwrap_async", "unwrap_with_hvac",
]
