"""Test support: real MongoDB and Kafka for pytest (external, docker or embedded)."""
