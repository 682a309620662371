"""Text generation tasks: machine translation, summarization and dialogue with a prompted causal LM."""
