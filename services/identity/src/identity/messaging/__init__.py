"""Kafka side of the identity service: the topics it publishes (it consumes none)."""
