"""Kafka side of the coalition service: what it consumes (identity) and publishes (coalitions, memberships)."""
