"""mockline's benchmarks. ``python -m bench`` (``make bench``) runs them all and prints JSON last."""
