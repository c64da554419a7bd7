"""The identity domain: pure models and rules, no I/O."""
