"""The coalition service."""
