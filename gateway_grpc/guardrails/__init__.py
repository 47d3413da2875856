"""Guardrails: Portkey's hook model (before/after-request hooks, the shorthand, verdicts, 446/246), every
built-in check, local PII redaction, and output checks on streams."""
