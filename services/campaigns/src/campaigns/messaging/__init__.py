"""Kafka side of the campaigns service: what it consumes (coalition) and publishes (campaigns, actions, federation)."""
