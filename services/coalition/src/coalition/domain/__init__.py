"""The coalition domain: pure models and rules, no I/O."""
