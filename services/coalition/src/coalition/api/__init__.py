"""HTTP API of the coalition service."""
