"""Cross-service tests: contracts, outbox and inbox on real servers, end-to-end scenarios."""
