"""Fault-injection scenarios: the whole platform, each service its own process, under real faults."""
