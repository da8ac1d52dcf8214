"""Simulated peers, shipped in the package so tests, benchmarks and ``atqb demo`` run anywhere."""

from __future__ import annotations
