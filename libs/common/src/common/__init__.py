"""Shared kernel of the coalition platform."""
