"""Runnable measurements of sktransfer: ``python -m benchmarks [--quick]``."""
