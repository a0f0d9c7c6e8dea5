"""agent-pdp enforcement-point kit: PdpClient / AsyncPdpClient, credential and SVID helpers, and the
MCP guard (`agent-pdp-guard`, package agent_pdp.guard)."""

from .client import AsyncPdpClient, PdpClient, PdpError, parse_approval, parse_decision
from .credentials import CredentialError, Secret, unwrap, unwrap_async, unwrap_with_hvac
from .model import Approval, Credential, Decision, Outcome, ToolCall
from .request import build_decision_request, call_digest, canonical_json, idempotency_key
from .svid import FileSvidSource, NoSvid, SvidSource, WorkloadApiSvidSource

__all__ = [
    "Approval", "AsyncPdpClient", "Credential", "CredentialError", "Decision", "FileSvidSource", "NoSvid",
    "Outcome", "PdpClient", "PdpError", "Secret", "SvidSource", "ToolCall", "WorkloadApiSvidSource",
    "build_decision_request", "call_digest", "canonical_json", "idempotency_key", "parse_approval",
    "parse_decision", "unwrap", "unwrap_async", "unwrap_with_hvac",
]
