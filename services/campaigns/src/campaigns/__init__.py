"""The campaigns service."""
