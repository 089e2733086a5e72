"""Test helpers: a pydrant server subprocess, contract validation and a validating REST client."""
