"""Optional integrations: ``lrhub.integrations.huggingface`` (transformers' Trainer) and
``lrhub.integrations.lightning`` (Lightning). Each imports its framework on import."""
