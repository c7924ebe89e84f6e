"""Utilities: drawing scene graphs (visualization) and tiny release-format fixtures for tests."""
