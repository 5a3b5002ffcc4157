"""Secrets, in one place: which names hold one, which values are one, and their masking.

Adapters already keep API keys out of what they return; the :class:`Redactor` is the last
line of defence for what they cannot know about (a key echoed by a model, a token in an
app's error message). Everything written to disk passes through one.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"
MIN_SECRET_LENGTH = 8
"""Shorter values are not masked: masking ``abc`` would mangle every answer containing it."""
FRAGMENT_SCAN_CHARS = 256 * 1024
"""The longest text :meth:`Redactor.fragments` searches for pieces of secrets."""

_SECRET_NAME = re.compile(
    # Short words count only as a whole word of the name (``key`` in ``api_key``, not in
    # ``monkey``); the rest anywhere (``DBPASSWORD``), but ``tokens`` and ``tokenizer`` are
    # counts and files, not credentials.
    r"(?:^|[^a-z])(?:key|auth|pwd|pat)(?:$|[^a-z])"
    r"|secret|passw(?:or)?d|passphrase|credential|api[_-]?key|bearer|cookie|authori[sz]ation"
    r"|token(?!s|iz)",
    re.IGNORECASE,
)


_NOT_SECRET_NAMES = frozenset({"PWD", "OLDPWD"})
"""The shell's working directories: ``pwd`` reads as "password" in ``DB_PWD``, not here."""


def is_secret_name(name: str) -> bool:
    """Whether a setting, header or environment variable of this name holds a secret:
    ``api_key``, ``token``, ``credentials``, ``password``, ``OPENAI_API_KEY``,
    ``Authorization``, ``LLM_BEARER``; not ``max_tokens`` or ``tokenizer``. The one rule
    for environment variables, model options and headers alike."""
    return name.upper() not in _NOT_SECRET_NAMES and bool(_SECRET_NAME.search(name))


_registered: set[str] = set()
_registered_lock = threading.Lock()


def register_secret(value: object) -> None:
    """Treat ``value`` as a secret wherever it shows up from now on: the value of the
    variable an alias's ``api_key_env`` names, whatever it is called, or of a secret
    option. Redactors made afterwards mask it."""
    if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
        with _registered_lock:
            _registered.add(value)


def known_secrets(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Every value to mask, longest first (so a key containing another is masked whole):
    environment variables whose names say they are secret, and what was registered."""
    env = os.environ if environ is None else environ
    values = {v for k, v in env.items() if is_secret_name(k) and len(v) >= MIN_SECRET_LENGTH}
    with _registered_lock:
        values |= _registered
    return tuple(sorted(values, key=len, reverse=True))


class Redactor:
    """Replaces every known secret value in a text; cheap enough for every line written."""

    def __init__(self, secrets: Iterable[str] | None = None) -> None:
        self.secrets = known_secrets() if secrets is None else tuple(secrets)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def fragments(self, text: str) -> str:
        """``text`` with every secret masked, and every piece of one too: a run of at
        least :data:`MIN_SECRET_LENGTH` characters of a secret, as left where something
        cut the text before it reached us (pytest's ``saferepr`` keeps a long value's
        ends). It looks at every position of every secret, so a text longer than
        :data:`FRAGMENT_SCAN_CHARS` gets only :meth:`__call__`'s whole-secret masking."""
        text = self(text)
        if len(text) > FRAGMENT_SCAN_CHARS:
            return text
        spans: list[tuple[int, int]] = []
        for secret in self.secrets:
            for offset in range(len(secret) - MIN_SECRET_LENGTH + 1):
                piece = secret[offset : offset + MIN_SECRET_LENGTH]
                start = text.find(piece)
                while start != -1:
                    end = start + MIN_SECRET_LENGTH
                    while end < len(text) and end - start + offset < len(secret):
                        if text[end] != secret[end - start + offset]:
                            break
                        end += 1
                    spans.append((start, end))
                    start = text.find(piece, start + 1)
        if not spans:
            return text
        spans.sort()
        merged: list[list[int]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        out, last = [], 0
        for start, end in merged:
            out += [text[last:start], MASK]
            last = end
        out.append(text[last:])
        return "".join(out)

    def value(self, value: Any) -> Any:
        """``value`` with every string inside it (mapping keys too) masked."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, Mapping):
            return {self.value(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        return value


def masked_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` fit for a results file or a report: the value of every secret name
    masked, at any depth (a ``headers`` table holding ``Authorization``)."""
    masked: dict[str, Any] = {}
    for key, value in settings.items():
        if is_secret_name(str(key)):
            masked[key] = MASK
        elif isinstance(value, Mapping):
            masked[key] = masked_settings(value)
        else:
            masked[key] = value
    return masked


def url_secrets(url: str) -> list[str]:
    """The secrets inside a URL: a password in its userinfo (``https://user:KEY@host/``),
    the value of a secret-named query parameter (``?api-key=KEY``, as Azure-style gateways
    take it)."""
    from urllib.parse import parse_qsl, urlsplit

    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return []
    found = [password] if password else []
    found += [value for name, value in parse_qsl(parts.query) if is_secret_name(name) and value]
    return found


def masked_url(url: str) -> str:
    """``url`` as it may be shown: its secrets masked (see :func:`url_secrets`)."""
    return Redactor(url_secrets(url))(url)
