"""The ``llmtest`` sub-commands, one module each: its ``SUMMARY``, ``DESCRIPTION``,
``add_arguments(parser)`` and ``run(args)`` (see main.py)."""
