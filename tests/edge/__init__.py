"""Tests of the OpenAI REST edge (edge/)."""
