"""The ``llmtest`` sub-commands, one module each; each module has ``register(subparsers)``."""
