"""Training variants: how fine-tuning differs from the baseline."""
