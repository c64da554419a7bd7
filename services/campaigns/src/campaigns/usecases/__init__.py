"""The campaigns service's use cases, one module each; `campaigns.service` composes them."""
