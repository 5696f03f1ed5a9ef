"""Benchmarks: run them all with ./bench/run; each prints its figures."""
