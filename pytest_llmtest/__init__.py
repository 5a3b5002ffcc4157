"""The pytest plugin of llmtest: thin glue over the ``llmtest`` library."""
