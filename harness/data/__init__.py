"""Data sources: packaged corpora, local files and Hugging Face hub data sets."""
