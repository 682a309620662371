"""The training loop shared by all variants."""
