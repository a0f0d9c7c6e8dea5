"""Framework adapters: decide through PdpClient before a framework's tool runs (optional extras)."""
