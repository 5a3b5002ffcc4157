"""``python -m llmtest`` is the ``llmtest`` command."""

import sys

from llmtest.commands.main import main

sys.exit(main())
