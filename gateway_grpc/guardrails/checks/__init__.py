"""The built-in checks, one concern per file; guardrails/registry.py lists them."""
