"""Results files: a run header, then one case record per line, appended and flushed as each
case finishes, so a crash or Ctrl-C loses nothing that finished."""

from __future__ import annotations

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

import contextlib
import errno
import json
import os
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llmtest._gc import gc_paused
from llmtest.config.project import ModelConfig
from llmtest.config.secrets import Redactor
from llmtest.errors import LLMTestError
from llmtest.results.record import CaseResult
from llmtest.results.record import RunHeader as RunHeader

RecordKey = tuple[str, str, str]


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]


def git_sha(folder: Path | None = None) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def header_model(models: Sequence[ModelConfig]) -> dict[str, Any]:
    """The header's ``model``: the one model's redacted config, or all of them when suites
    name different models."""
    unique = list({m.name: m for m in models}.values())
    if len(unique) == 1:
        return unique[0].redacted()
    return {"name": "mixed", "models": [m.redacted() for m in unique]}


class JsonlAppender:
    """Appends JSON records to a file from any thread or process, secrets redacted.

    Each record is one ``write(2)`` on an ``O_APPEND`` descriptor: it is on disk (in the
    page cache) when ``append`` returns, so a crash loses nothing finished, and pytest-xdist
    workers can append to one file without tearing each other's lines.
    """

    what = "file"

    def __init__(self, path: Path | str, redactor: Redactor | None = None) -> None:
        self.path = Path(path)
        self._redact = redactor or Redactor()
        self._lock = threading.Lock()
        with self._disk_errors():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    @contextlib.contextmanager
    def _disk_errors(self) -> Iterator[None]:
        """A disk that is full, read-only or gone is one sentence naming the file, never a
        traceback: the run stops there (exit 2), and what was written before stays."""
        try:
            yield
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise LLMTestError(f"cannot write {self.what} {self.path}: {reason}") from None

    def append(self, record: Mapping[str, Any]) -> None:
        data = _line(record, self._redact).encode("utf-8")
        with self._lock, self._disk_errors():
            if self._fd is None:
                raise LLMTestError(f"{self.what} {self.path} is already closed")
            written = os.write(self._fd, data)
            while written < len(data):
                written += os.write(self._fd, data[written:])

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                fd, self._fd = self._fd, None
                try:
                    with self._disk_errors():
                        _fsync(fd)
                finally:
                    os.close(fd)


def _fsync(fd: int) -> None:
    """Flush to the disk; a file that cannot be synced (a pipe, a device) has nothing to
    lose by it."""
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EROFS, errno.ENOTSUP):
            raise


class ResultWriter(JsonlAppender):
    """A results file: the run header, then one case record per attempt."""

    what = "results file"

    def __init__(
        self,
        path: Path | str,
        redactor: Redactor | None = None,
        *,
        on_record: Callable[[CaseResult], None] | None = None,
    ) -> None:
        super().__init__(path, redactor)
        self.on_record = on_record
        """Also given every case record written (the history's recorder)."""
        self.replaced = False
        """Whether starting this run replaced an earlier run's records at the path."""

    def claim(self) -> None:
        """Hold the file for this run until it is closed: a second run writing the same
        file at the same time is refused, where its records would have mixed with these.
        (pytest-xdist workers append below their controller's claim without one.)"""
        if fcntl is None:  # pragma: no cover - not POSIX
            return
        with self._lock:
            assert self._fd is not None
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LLMTestError(
                    f"{self.path} is being written by another run right now; let it finish "
                    "or choose another results file"
                ) from None

    def write_header(self, header: RunHeader) -> None:
        """Claim the file and begin it with ``header``. A results file holds one run, so
        whatever an earlier run left at this path is replaced; a resumed run writes no
        header and appends to its own records."""
        self.claim()
        with self._lock:
            if self._fd is not None and os.fstat(self._fd).st_size:
                os.ftruncate(self._fd, 0)
                self.replaced = True
        self.append(header.to_record())

    def write(self, result: CaseResult) -> None:
        self.append(result.to_record())
        if self.on_record is not None:
            self.on_record(result)

    def write_confirmation(self, result: CaseResult) -> None:
        """An attempt run to confirm a regression: a ``confirmation`` record, which every
        reader of case records (reports, history, resume, merge) passes over."""
        self.append({**result.to_record(), "type": "confirmation"})

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _NonFinite(Exception):
    """``NaN``, ``Infinity`` or ``-Infinity`` in a line: Python's json reads them, JSON
    does not have them, and no other tool reading a results file would."""


def _refuse_constant(text: str) -> Any:
    raise _NonFinite(text)


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def read_records(path: Path | str, what: str) -> tuple[list[tuple[int, dict[str, Any]]], int]:
    """The JSON objects of an append-only file with their line numbers, and how many torn
    last lines (a process that died mid-write) were skipped; any other bad line is an error
    naming it."""
    path = Path(path)
    if path.exists() and not path.is_file():  # a device or a pipe would never end
        raise LLMTestError(f"{path} is not a {what}: not a regular file")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise LLMTestError(f"cannot read {what} {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise LLMTestError(f"{path} is not a {what} (not UTF-8 text)") from None
    records: list[tuple[int, dict[str, Any]]] = []
    skipped = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = _DECODER.decode(line)
        except json.JSONDecodeError:
            if number == len(lines):
                skipped += 1
                continue
            raise LLMTestError(f"{path}:{number}: not a JSON record") from None
        except RecursionError:
            raise LLMTestError(f"{path}:{number}: nested too deeply to be a record") from None
        except _NonFinite as exc:
            raise LLMTestError(f"{path}:{number}: {_non_finite(line, str(exc))}") from None
        if not isinstance(record, dict):
            raise LLMTestError(f"{path}:{number}: not a JSON object")
        records.append((number, record))
    return records, skipped


class _Constant:
    """Where a refused constant stood, found again once a line has been refused."""


def _non_finite(line: str, constant: str) -> str:
    """The message for a line holding ``NaN`` or ``Infinity``, naming the field it is in."""
    message = f"expected a finite number, got {constant}"
    try:
        found = _path_to(json.loads(line, parse_constant=lambda _: _Constant()))
    except (ValueError, RecursionError):
        found = None
    return message if found is None else f"field {found!r}: {message}"


def _path_to(value: object, prefix: str = "") -> str | None:
    if isinstance(value, _Constant):
        return prefix
    items: Iterable[tuple[str, object]]
    if isinstance(value, dict):
        items = ((f"{prefix}.{k}" if prefix else str(k), v) for k, v in value.items())
    elif isinstance(value, list):
        items = ((f"{prefix}[{n}]", v) for n, v in enumerate(value))
    else:
        return None
    return next((p for key, item in items if (p := _path_to(item, key)) is not None), None)


@dataclass
class ResultsFile:
    """A results file as read back: its header(s) and case records, in file order, each
    record checked and typed (:meth:`CaseResult.from_record`, :meth:`RunHeader.from_record`).
    """

    path: Path
    headers: list[RunHeader]
    cases: list[CaseResult]
    skipped_lines: int = 0
    confirmations: list[CaseResult] = field(default_factory=list)
    """``confirmation`` records: attempts a canary ran to confirm a regression."""

    @property
    def header(self) -> RunHeader | None:
        """The run's header: the first, where a file holds several; None for a file that
        has none (a bare list of case records)."""
        return self.headers[0] if self.headers else None

    def finished_keys(self) -> set[tuple[str, str, str, int]]:
        """(suite, case id, case hash, attempt) of every recorded attempt."""
        return {(c.suite, c.case_id, c.case_hash, c.attempt) for c in self.cases}


def load_results(path: Path | str) -> ResultsFile:
    """Read a results file: its headers and case records, in file order. Lines of another
    ``type`` are passed over; a record with a field of the wrong type is an error naming
    the file, the line and the field."""
    headers: list[RunHeader] = []
    cases: list[CaseResult] = []
    confirmations: list[CaseResult] = []
    prefix = f"{path}:"
    with gc_paused(freeze=False):  # tens of thousands of objects that all live on
        records, skipped = read_records(path, "results file")
        for number, record in records:
            kind = record.get("type")
            if kind != "case" and kind != "run" and kind != "confirmation":
                continue
            where = prefix + str(number)
            try:
                if kind == "case":
                    cases.append(CaseResult.from_record(record, where))
                elif kind == "confirmation":
                    confirmations.append(CaseResult.from_record(record, where))
                else:
                    headers.append(RunHeader.from_record(record, where))
            except RecursionError:  # a value nested too deeply to show in the message
                raise LLMTestError(f"{where}: nested too deeply to be a record") from None
    return ResultsFile(Path(path), headers, cases, skipped, confirmations)


def write_results(path: Path | str, header: RunHeader, cases: Iterable[CaseResult]) -> None:
    """Write a whole results file at once (``llmtest merge``, a resumed run's clean copy):
    the records as read, fields this version does not know included, secrets redacted."""
    redact = Redactor()
    with Path(path).open("w", encoding="utf-8") as fh:
        fh.write(_line(header.to_record(), redact))
        for case in cases:
            fh.write(_line(case.to_record(), redact))


def _line(record: Mapping[str, Any], redact: Redactor) -> str:
    return redact(json.dumps(record, ensure_ascii=False, default=str)) + "\n"
