"""The last line of defence for secrets: anything written to disk passes through here.

Adapters already keep API keys out of what they return; this catches what they cannot
know about (a key echoed by a model, a token in an app's error message).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL|AUTH", re.IGNORECASE)
MIN_SECRET_LENGTH = 8
MASK = "***"


def known_secrets(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Values of environment variables whose names say they are secret, longest first."""
    env = os.environ if environ is None else environ
    values = {v for k, v in env.items() if SECRET_NAME.search(k) and len(v) >= MIN_SECRET_LENGTH}
    return tuple(sorted(values, key=len, reverse=True))


class Redactor:
    """Replaces every known secret value in a text; cheap enough for every line written."""

    def __init__(self, secrets: tuple[str, ...] | None = None) -> None:
        self.secrets = known_secrets() if secrets is None else secrets

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text
