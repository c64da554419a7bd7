"""Kafka side of the notifications service: the events it consumes and the deliveries topic it publishes."""
