"""Conformance harness: spec + rules -> probes -> verdicts -> reports (`kontrakt certify`)."""
