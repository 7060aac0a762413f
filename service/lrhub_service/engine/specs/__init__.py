"""Spec models, one per schedule type; the registry lists them."""
