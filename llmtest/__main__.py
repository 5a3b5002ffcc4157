"""``python -m llmtest`` is the ``llmtest`` command."""

import sys

from llmtest.cli import main

sys.exit(main())
