"""Credential helpers: unwrap a response-wrapped OpenBao/Vault token. Secrets are never logged.

The PDP returns a response-wrapping token by default (`credential.type: wrapped_token`); it can be
unwrapped exactly once, via sys/wrapping/unwrap, and yields the agent's real token.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from .model import Credential

log = logging.getLogger("agent_pdp.credentials")


class CredentialError(Exception):
    """The credential could not be obtained; the message never contains a secret."""


class Secret(str):
    """A str whose repr() hides the value, so that a secret in a logged structure stays hidden."""

    def __repr__(self) -> str:
        return "Secret('***')"


def unwrap(vault_addr: str, wrapped_token: str, *, timeout: float = 5.0,
           transport: httpx.BaseTransport | None = None) -> Secret:
    """Unwraps with plain HTTP (POST {vault_addr}/v1/sys/wrapping/unwrap) and returns auth.client_token."""
    try:
        with httpx.Client(timeout=timeout, transport=transport) as http:
            response = http.post(f"{vault_addr.rstrip('/')}/v1/sys/wrapping/unwrap",
                                 headers={"X-Vault-Token": wrapped_token})
    except httpx.HTTPError as error:
        raise CredentialError(f"unwrap failed: {type(error).__name__}") from None
    return _client_token(response.status_code, response)


async def unwrap_async(vault_addr: str, wrapped_token: str, *, timeout: float = 5.0,
                       transport: httpx.AsyncBaseTransport | None = None) -> Secret:
    try:
        async with httpx.AsyncClient(timeout=timeout, transport=transport) as http:
            response = await http.post(f"{vault_addr.rstrip('/')}/v1/sys/wrapping/unwrap",
                                       headers={"X-Vault-Token": wrapped_token})
    except httpx.HTTPError as error:
        raise CredentialError(f"unwrap failed: {type(error).__name__}") from None
    return _client_token(response.status_code, response)


def unwrap_with_hvac(vault_addr: str, wrapped_token: str) -> Secret:
    """The same with hvac (the wrapping token authenticates its own unwrap)."""
    import hvac  # imported lazily: only callers of this helper need it

    try:
        answer: Any = hvac.Client(url=vault_addr, token=wrapped_token).sys.unwrap()
    except Exception as error:  # noqa: BLE001 - hvac raises many types; none may carry the token out
        raise CredentialError(f"unwrap failed: {type(error).__name__}") from None
    token = (answer or {}).get("auth", {}).get("client_token") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not token:
        raise CredentialError("unwrap answer has no auth.client_token")
    return Secret(token)


def _client_token(status: int, response: httpx.Response) -> Secret:
    if status != 200:
        raise CredentialError(f"unwrap answered {status} (a wrapping token is valid once, for its TTL)")
    try:
        token = response.json()["auth"]["client_token"]
    except (ValueError, KeyError, TypeError):
        raise CredentialError("unwrap answer has no auth.client_token") from None
    if not isinstance(token, str) or not token:
        raise CredentialError("unwrap answer has no auth.client_token")
    return Secret(token)


async def usable_token(credential: Credential, vault_addr: str | None) -> Secret:
    """The token an upstream can use: unwrapped for `wrapped_token`, as is for `token`.
    `reuse` names a credential the caller already holds, so there is nothing new to hand out here."""
    if credential.type == "token" and credential.token:
        return Secret(credential.token)
    if credential.type == "wrapped_token" and credential.token:
        if not vault_addr:
            raise CredentialError("a wrapped credential needs the OpenBao/Vault address to unwrap it")
        return await unwrap_async(vault_addr, credential.token)
    raise CredentialError(f"no usable token in a {credential.type} credential")
