"""How big untrusted input may get: a case file (its size, how deep and how large what it
holds may get), a schema file it references, a model's answer.

Case files are untrusted input: QA teams and contributors write them, and CI loads them
with production keys in its environment. A few bytes can ask for unbounded work: YAML
aliases expand a 1 KB file into a billion values ("billion laughs"), a thousand nested
brackets exhaust Python's stack in whatever walks them next (the schema check, templating,
the results writer), and ``{{var}}`` repeats a long variable as often as it is written.

Each limit is one a legitimate suite never reaches, and each is checked before the work it
bounds (the file's size before it is read, a YAML document's expanded size on its composed
nodes before anything is expanded, a rendered string's size before it is joined), so a
file over one is refused at once, in one line naming the file and the line, whatever it
asks for. docs/cases.md ("Limits") documents them; change them there too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_FILE_BYTES = 64 * 1024 * 1024
"""A case file's size on disk. A 10,000-case library is about 3 MB; 64 MiB leaves room for
long-context suites (a thousand cases of 60 KB prompts), and a file is read whole."""

MAX_DEPTH = 64
"""Levels of lists and mappings, counted from the top of the file (a YAML document, a JSONL
line or a CSV row is level 1). A JSON Schema 20 objects deep stands about 46 levels down
in a YAML file. What walks a case recursively stays inside Python's 1,000 frames with
room to spare under pytest: templating takes one frame a level, a ``json_schema``'s check
against its meta-schema (and its validation of an answer) up to 9."""

MAX_VALUES = 10_000_000
"""Values (scalars, lists and mappings, keys included) a YAML document holds once its
aliases and merge keys are expanded. An ordinary case is about 27 values, so a file at the
size limit holds some 7 million; a nine-level "billion laughs" asks for 387 million."""

MAX_TEXT_CHARS = 64 * 1024 * 1024
"""Characters of text (every scalar, keys included) a YAML document holds once its aliases
are expanded, and the characters one ``{{var}}`` rendering may produce. A scalar is never
longer than it is written, so only aliases (or templating) can reach it."""

MAX_ANSWER_CHARS = 4_000_000
"""A model's answer, in characters: far beyond any model's output limit. A longer answer is
a broken or hostile server, and keeping it would be written into every results file, cache
entry, cassette and report."""

DEPTH_PROBLEM = f"nests too deeply (more than {MAX_DEPTH} levels of lists and mappings)"
"""The message of a value over :data:`MAX_DEPTH`, after the file, line, case and field."""


def may_nest_too_deeply(text: str, depth: int = 1) -> bool:
    """Whether JSON ``text`` whose top value stands at ``depth`` could nest too deeply: a
    quick test on the raw text (every ``[`` and ``{`` counted, even inside strings), so
    that :func:`too_deep` walks only the rare value that might be over."""
    return depth - 1 + text.count("[") + text.count("{") > MAX_DEPTH


def too_deep(value: Any, depth: int = 1) -> tuple[str | int, ...] | None:
    """The path to the first list or mapping in ``value`` (which stands at ``depth``) that
    is deeper than :data:`MAX_DEPTH`, or None. Iterative: the value may be the one too deep
    for a recursive walk."""
    pending: list[tuple[Any, int, tuple[str | int, ...]]] = [(value, depth, ())]
    while pending:
        item, level, path = pending.pop()
        if isinstance(item, Mapping):
            children: Any = item.items()
        elif isinstance(item, list):
            children = enumerate(item)
        else:
            continue
        if level > MAX_DEPTH:
            return path
        pending.extend((child, level + 1, (*path, key)) for key, child in children)
    return None


def field_of(path: tuple[str | int, ...]) -> str | None:
    """How an error names the field a path is in: its first key, with the index after it
    (``assert[2]``, ``include[0]``), not the whole way down."""
    if not path:
        return None
    head = str(path[0])
    return f"{head}[{path[1]}]" if len(path) > 1 and isinstance(path[1], int) else head
