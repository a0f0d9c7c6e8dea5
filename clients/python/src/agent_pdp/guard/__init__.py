"""The MCP guard: agent-pdp-guard (see clients/python/README.md)."""

from .config import ConfigError, GuardConfig, GuardedTool, TargetError, derive_resource, load_config, parse_config
from .server import ConfigManifest, Guard, ManifestSource, RegistryManifest, mapping_problems, redact_pii

__all__ = ["ConfigError", "ConfigManifest", "Guard", "GuardConfig", "GuardedTool", "ManifestSource", "RegistryManifest",
           "TargetError", "derive_resource", "load_config", "mapping_problems", "parse_config", "redact_pii"]
