"""The machinery behind tests/test_docs.py: it runs every example of README.md and docs/."""
