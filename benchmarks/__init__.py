"""Benchmarks on the embedded servers (`make bench`)."""
