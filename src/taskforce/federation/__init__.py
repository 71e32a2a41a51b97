"""Federation: sovereign national nodes that deconflict without pooling plaintext (issue 14)."""
