"""The conformance matrix: the same cases run for every provider under test, through the real gateway (gRPC and the
OpenAI REST surface), against the strict loopback fakes, with golden files per provider and case."""
