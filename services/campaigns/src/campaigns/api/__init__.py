"""HTTP API of the campaigns service: management (signed-in) and public supporter endpoints."""
