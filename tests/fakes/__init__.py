"""Loopback fakes of provider APIs, run in-process by tests or as processes by benchmarks."""
