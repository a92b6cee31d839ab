"""Contracts for call-center vendor APIs: spec loading, spec lint, verification of implementations."""

from contracts.loaders import SpecNotFound, load_spec, spec_names, spec_path

__all__ = ["SpecNotFound", "load_spec", "spec_names", "spec_path"]
