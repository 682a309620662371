"""Tasks: data reading, model head, loss, metrics and the label-preserving attack rule."""
