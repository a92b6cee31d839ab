"""mockline's mock server: vendor APIs served from their specs, with state, a clock and callbacks."""

__version__ = "0.1.0"
