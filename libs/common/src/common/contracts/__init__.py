"""Event contracts: topic names and payload models, owned by the producing services."""
