"""The folders a case file may reach: ``include`` and ``$ref`` stay inside the project.

Case files are untrusted (a contributor's pull request, a QA library), so a reference
must not read ``/etc/passwd`` or the ``.env`` beside the project through ``../..``
or a symlink. Paths are compared after resolving symlinks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from llmtest.config.project import find_pyproject


@dataclass(frozen=True)
class ProjectBoundary:
    """The project's folders: the folder of the nearest pyproject.toml at or above the
    suite, and the run's root (pytest's rootdir; for ``llmtest``, the folder of the
    project's pyproject.toml, else the working directory)."""

    folders: tuple[Path, ...]

    @classmethod
    def of(cls, folders: Iterable[Path]) -> ProjectBoundary:
        resolved = (f.resolve() for f in folders)
        return cls(tuple(dict.fromkeys(resolved)))

    @classmethod
    def for_suite(cls, suite: Path, root: Path | None = None) -> ProjectBoundary:
        """The boundary for a suite file, found from where it is written (not where a link
        leads). A suite named from outside the project is a project of its own: its
        folder joins."""
        written = suite.absolute()
        pyproject = find_pyproject(written.parent)
        folders = [p for p in (pyproject.parent if pyproject else None, root) if p is not None]
        if not any(written.is_relative_to(f.absolute()) for f in folders):
            folders.append(written.parent)
        return cls.of(folders)

    def contains(self, path: Path) -> bool:
        resolved = path.resolve()
        return any(resolved.is_relative_to(folder) for folder in self.folders)

    def outside(self, written: str, path: Path) -> str:
        """The reason a reference is refused, naming what it resolved to."""
        inside = " or ".join(str(f) for f in self.folders)
        return (
            f"{written!r} resolves to {path.resolve()}, outside the project ({inside}); "
            "case files, include and $ref reach only files inside it"
        )
