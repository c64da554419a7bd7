"""The campaigns domain: pure models and rules, no I/O."""
