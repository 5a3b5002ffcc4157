"""Every run kept in one SQLite file, so a case's outcome can be followed across runs and
flaky cases found without keeping (or re-reading) every results file.

The database is an index over results files, not a second source of truth: a run is
recorded whole, from its header and case records, and recording it again replaces it.
Several processes (xdist workers, parallel CI jobs on one runner) may record at once:
the file is in WAL mode, writers wait for each other, and each run is one short
transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from itertools import groupby, pairwise
from operator import itemgetter
from pathlib import Path
from typing import Any

from llmtest.config.options import DEFAULT_HISTORY
from llmtest.config.secrets import Redactor
from llmtest.errors import LLMTestError
from llmtest.results.figures import Status, case_verdict, mean
from llmtest.results.jsonl import ResultsFile, load_results
from llmtest.results.record import CaseResult, RunHeader

BUSY_TIMEOUT_S = 30.0

Step = str | Callable[[sqlite3.Connection], None]
"""A statement, or a function for what SQL alone cannot say (a verdict by Python's rule)."""

# MIGRATIONS[n] upgrades a version-n database (0 = empty) to version n + 1; the version
# lives in PRAGMA user_version. Append to change the schema; never edit a shipped step.
MIGRATIONS: tuple[tuple[Step, ...], ...] = (
    (
        """CREATE TABLE runs (
            run_id TEXT PRIMARY KEY,
            started_at TEXT,
            finished_at TEXT,
            model_name TEXT,
            adapter TEXT,
            provider_model TEXT,
            model_config TEXT,
            git_sha TEXT,
            llmtest_version TEXT,
            source TEXT,
            suites TEXT,
            cases INTEGER NOT NULL DEFAULT 0,
            passed INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            errors INTEGER NOT NULL DEFAULT 0,
            skipped INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            recorded_at TEXT NOT NULL
        )""",
        "CREATE INDEX runs_started ON runs (started_at)",
        """CREATE TABLE cases (
            run_id TEXT NOT NULL,
            suite TEXT NOT NULL,
            case_id TEXT NOT NULL,
            case_hash TEXT NOT NULL,
            model TEXT NOT NULL,
            provider_model TEXT,
            attempt INTEGER NOT NULL,
            status TEXT NOT NULL,
            score REAL,
            latency_ms REAL,
            input_tokens INTEGER,
            output_tokens INTEGER,
            cost_usd REAL,
            retries INTEGER NOT NULL DEFAULT 0,
            tags TEXT,
            error TEXT,
            output TEXT,
            min_pass_rate REAL NOT NULL DEFAULT 1.0
        )""",
        "CREATE INDEX cases_by_case ON cases (suite, case_id)",
        "CREATE INDEX cases_by_run ON cases (run_id, model)",
        # Which models a run used (a mixed run has several): flaky_cases' "last N runs of
        # a model" without scanning every case.
        """CREATE TABLE run_models (
            run_id TEXT NOT NULL,
            model TEXT NOT NULL,
            PRIMARY KEY (run_id, model)
        )""",
        "CREATE INDEX run_models_by_model ON run_models (model)",
        # One row per case per run and model: the verdict over its attempts, decided as
        # llmtest.engine.evaluation.CaseOutcome does (any error wins; else the repeat pass rate).
        """CREATE VIEW verdicts AS
        SELECT run_id, suite, case_id, case_hash, model,
            COUNT(*) AS attempts,
            SUM(status = 'pass') AS attempts_passed,
            CASE
                WHEN SUM(status = 'error') > 0 THEN 'error'
                WHEN SUM(status <> 'skip') = 0 THEN 'skip'
                WHEN SUM(status = 'pass') >= MAX(min_pass_rate) * SUM(status <> 'skip') - 1e-9
                    THEN 'pass'
                ELSE 'fail'
            END AS status,
            AVG(score) AS score,
            AVG(latency_ms) AS latency_ms,
            MAX(error) AS error
        FROM cases
        GROUP BY run_id, suite, case_id, case_hash, model""",
    ),
    # Version 2: the verdicts are stored, each decided by llmtest.results.figures.case_verdict
    # when its run is recorded, instead of a view repeating the rule in SQL. Same name and
    # columns, so queries written against the view keep working.
    (
        "DROP VIEW verdicts",
        """CREATE TABLE verdicts (
            run_id TEXT NOT NULL,
            suite TEXT NOT NULL,
            case_id TEXT NOT NULL,
            case_hash TEXT NOT NULL,
            model TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            attempts_passed INTEGER NOT NULL,
            status TEXT NOT NULL,
            score REAL,
            latency_ms REAL,
            error TEXT,
            PRIMARY KEY (run_id, model, suite, case_id, case_hash)
        )""",
        "CREATE INDEX verdicts_by_case ON verdicts (case_id, suite)",
        "CREATE INDEX verdicts_by_suite ON verdicts (suite)",
        lambda conn: _backfill_verdicts(conn),
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

_CASE_COLUMNS = (
    "run_id, suite, case_id, case_hash, model, provider_model, attempt, status, score, "
    "latency_ms, input_tokens, output_tokens, cost_usd, retries, tags, error, output, "
    "min_pass_rate"
)
_COLUMN = {name: index for index, name in enumerate(_CASE_COLUMNS.split(", "))}
"""Where each column stands in a cases row."""
_VERDICT_COLUMNS = (
    "run_id, suite, case_id, case_hash, model, attempts, attempts_passed, status, score, "
    "latency_ms, error"
)


def _pass_rate(passed: int, cases: int, skipped: int) -> float | None:
    """Passed over everything that ran; errors stay in the denominator."""
    ran = cases - skipped
    return passed / ran if ran else None


@dataclass(frozen=True)
class RecordedRun:
    """One run (or, in :meth:`History.suite_history`, one suite within a run) in numbers."""

    run_id: str
    started_at: str | None
    model: str | None
    cases: int
    passed: int
    failed: int
    errors: int
    skipped: int
    git_sha: str | None = None

    @property
    def pass_rate(self) -> float | None:
        return _pass_rate(self.passed, self.cases, self.skipped)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "pass_rate": self.pass_rate}


@dataclass(frozen=True)
class CaseRun:
    """A case's verdict in one run: over all its attempts when it was repeated."""

    run_id: str
    started_at: str | None
    model: str | None
    suite: str
    case_id: str
    case_hash: str
    status: str
    attempts: int
    attempts_passed: int
    score: float | None
    latency_ms: float | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FlakyCase:
    """A case that went both ways with one model: ``flips`` counts the changes between pass
    and fail over its last ``runs`` verdicts, oldest to newest."""

    suite: str
    case_id: str
    case_hash: str
    model: str
    runs: int
    passed: int
    flips: int
    last_status: str

    @property
    def pass_rate(self) -> float:
        return self.passed / self.runs

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "pass_rate": self.pass_rate}


def _run_id(header: RunHeader) -> str:
    if not header.run_id:
        raise LLMTestError("cannot record a run without a run_id in its header")
    return header.run_id


class History:
    """The run history database. Creating the object touches nothing; the file (and its
    folder) is created by the first :meth:`record_run`. Queries on a missing file return
    nothing rather than creating one."""

    def __init__(
        self, path: Path | str = DEFAULT_HISTORY, redactor: Redactor | None = None
    ) -> None:
        self.path = Path(path)
        self._redact = redactor or Redactor()

    def exists(self) -> bool:
        return self.path.is_file()

    def record_run(
        self,
        header: RunHeader,
        cases: Iterable[CaseResult],
        *,
        finished_at: str | None = None,
        source: Path | str | None = None,
    ) -> None:
        """Store a run from its header and case records, replacing any earlier copy of the
        same run id (a resumed run is recorded again, whole). Every case belongs to the
        header's run, whatever its own ``run_id`` says (a merged file keeps the shards')."""
        run_id = _run_id(header)
        rows = [self._case_row(run_id, case) for case in cases]
        self._store(run_id, header, rows, finished_at=finished_at, source=source)

    def recorder(self, header: RunHeader) -> RunRecorder:
        """Record a run as its case records are written (see :class:`RunRecorder`)."""
        return RunRecorder(self, header)

    def _store(
        self,
        run_id: str,
        header: RunHeader,
        rows: list[tuple[Any, ...]],
        *,
        finished_at: str | None,
        source: Path | str | None,
    ) -> None:
        run = {
            **self._described(header, rows),
            "run_id": run_id,
            "finished_at": finished_at,
            "source": None if source is None else str(source),
            "recorded_at": datetime.now(UTC).isoformat(),
        }
        with self._connection(create=True) as conn, _transaction(conn):
            for table in ("cases", "verdicts", "run_models"):
                conn.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
            conn.execute(
                f"INSERT OR REPLACE INTO runs ({', '.join(run)}) "
                f"VALUES ({', '.join(':' + column for column in run)})",
                run,
            )
            conn.executemany(
                f"INSERT INTO cases ({_CASE_COLUMNS}) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            _insert_verdicts(conn, rows)
            conn.execute(
                "INSERT INTO run_models SELECT DISTINCT run_id, model FROM cases WHERE run_id = ?",
                (run_id,),
            )
            counts = conn.execute(
                """SELECT COUNT(*), COALESCE(SUM(attempts), 0),
                    COALESCE(SUM(status = 'pass'), 0), COALESCE(SUM(status = 'fail'), 0),
                    COALESCE(SUM(status = 'error'), 0), COALESCE(SUM(status = 'skip'), 0)
                FROM verdicts WHERE run_id = ?""",
                (run_id,),
            ).fetchone()
            conn.execute(
                "UPDATE runs SET cases = ?, attempts = ?, passed = ?, failed = ?, "
                "errors = ?, skipped = ? WHERE run_id = ?",
                (*counts, run_id),
            )

    def _described(self, header: RunHeader, rows: list[tuple[Any, ...]]) -> dict[str, Any]:
        """The runs columns that describe the run: from its header, and the provider's
        model id most of its cases report."""
        # ``model`` is the run's redacted model config, free-form: the keys of ModelConfig.
        config = header.model
        provider = _COLUMN["provider_model"]
        provider_models = Counter(row[provider] for row in rows if row[provider])
        provider_model = (
            provider_models.most_common(1)[0][0] if provider_models else config.get("model")
        )
        return {
            "started_at": header.started_at or None,
            "model_name": header.model_name,
            "adapter": _text(config.get("adapter")),
            "provider_model": _text(provider_model),
            "model_config": self._redact(
                json.dumps(dict(config), ensure_ascii=False, default=str, sort_keys=True)
            ),
            "git_sha": header.git_sha,
            "llmtest_version": header.llmtest_version or None,
            "suites": self._redact(json.dumps(dict(header.suites), ensure_ascii=False)),
        }

    def import_file(self, path: Path | str) -> list[str]:
        """Record every run in a results file; returns their run ids."""
        return self.import_results(load_results(path))

    def import_results(self, results: ResultsFile) -> list[str]:
        """Record every run of a read results file. One header makes one run of every case
        in the file; with several, cases go to the header of their run id."""
        if results.header is None:
            raise LLMTestError(f"{results.path}: no run header; is this a results file?")
        finished_at = datetime.fromtimestamp(results.path.stat().st_mtime, UTC).isoformat()
        headers: dict[str, RunHeader] = {}
        for header in results.headers:
            headers.setdefault(header.run_id, header)
        first = results.header.run_id
        groups: dict[str, list[CaseResult]] = {run_id: [] for run_id in headers}
        for case in results.cases:
            groups[case.run_id if case.run_id in groups else first].append(case)
        for run_id, header in headers.items():
            self.record_run(header, groups[run_id], finished_at=finished_at, source=results.path)
        return list(groups)

    def recent_runs(self, limit: int = 20, *, model: str | None = None) -> list[RecordedRun]:
        """The latest runs, newest first; ``model`` keeps runs of that model name."""
        where, params = ("WHERE model_name = ?", [model]) if model else ("", [])
        rows = self._query(
            f"""SELECT run_id, started_at, model_name AS model, cases, passed, failed,
                errors, skipped, git_sha
            FROM runs {where} ORDER BY started_at DESC, run_id DESC LIMIT ?""",
            [*params, limit],
        )
        return [RecordedRun(**row) for row in rows]

    def case_history(
        self, suite: str | None, case_id: str, model: str | None = None, limit: int = 50
    ) -> list[CaseRun]:
        """A case's verdict in each run that had it, newest first. ``suite`` None matches
        the case id in any suite. Every version of the case is included: compare
        ``case_hash`` to see where it was edited."""
        where = ["v.case_id = ?"]
        params: list[Any] = [case_id]
        if suite is not None:
            where.append("v.suite = ?")
            params.append(suite)
        if model is not None:
            where.append("v.model = ?")
            params.append(model)
        rows = self._query(
            f"""SELECT v.run_id, r.started_at, v.model, v.suite, v.case_id, v.case_hash,
                v.status, v.attempts, v.attempts_passed, v.score, v.latency_ms, v.error
            FROM verdicts v JOIN runs r ON r.run_id = v.run_id
            WHERE {" AND ".join(where)}
            ORDER BY r.started_at DESC, r.run_id DESC, v.model LIMIT ?""",
            [*params, limit],
        )
        return [CaseRun(**row) for row in rows]

    def suite_history(
        self, suite: str, limit: int = 20, *, model: str | None = None
    ) -> list[RecordedRun]:
        """The suite's case counts in each run (per model, in a mixed run), newest first."""
        where, params = ("AND v.model = ?", [model]) if model is not None else ("", [])
        rows = self._query(
            f"""SELECT v.run_id, r.started_at, v.model, COUNT(*) AS cases,
                SUM(v.status = 'pass') AS passed, SUM(v.status = 'fail') AS failed,
                SUM(v.status = 'error') AS errors, SUM(v.status = 'skip') AS skipped,
                r.git_sha
            FROM verdicts v JOIN runs r ON r.run_id = v.run_id
            WHERE v.suite = ? {where}
            GROUP BY v.run_id, v.model
            ORDER BY r.started_at DESC, r.run_id DESC, v.model LIMIT ?""",
            [suite, *params, limit],
        )
        return [RecordedRun(**row) for row in rows]

    def flaky_cases(
        self, model: str | None = None, min_runs: int = 3, window: int = 10, min_flips: int = 2
    ) -> list[FlakyCase]:
        """Cases that went from pass to fail and back (``min_flips`` changes) with the same
        model within that model's last ``window`` runs, most flips first.

        A case is its suite, id *and* hash: an edited case starts a new history. Errors
        are not verdicts on the model's answer, so they neither count as runs nor break a
        streak. A plain regression (pass, pass, fail) is one flip: not flaky.
        """
        flaky = [
            case
            for case in self.flip_records(model, window)
            if case.runs >= min_runs and case.flips >= min_flips
        ]
        flaky.sort(key=lambda f: (-f.flips, f.pass_rate, f.suite, f.case_id, f.model))
        return flaky

    def flip_records(self, model: str | None = None, window: int = 10) -> list[FlakyCase]:
        """Every case's pass/fail record within each model's last ``window`` runs, flaky or
        not: what :meth:`flaky_cases` filters, and what says how close a case came."""
        model_filter, params = ("WHERE m.model = ?", [model]) if model is not None else ("", [])
        recent: dict[str, list[str]] = {}
        for row in self._query(
            f"""SELECT m.model, m.run_id FROM run_models m JOIN runs r ON r.run_id = m.run_id
            {model_filter} ORDER BY m.model, r.started_at DESC, r.run_id DESC""",
            params,
        ):
            runs = recent.setdefault(row["model"], [])
            if len(runs) < window:
                runs.append(row["run_id"])
        sequences: dict[tuple[str, str, str, str], list[str]] = {}
        for run_model, run_ids in recent.items():
            age = {run_id: n for n, run_id in enumerate(run_ids)}
            # Constants on the view's grouping columns are pushed into it, so only these
            # runs' rows are read (a join or sub-select would aggregate the whole table).
            rows = self._query(
                f"""SELECT suite, case_id, case_hash, run_id, status FROM verdicts
                WHERE model = ? AND run_id IN ({", ".join("?" * len(run_ids))})
                    AND status IN ('pass', 'fail')""",
                [run_model, *run_ids],
            )
            rows.sort(key=lambda r: (r["suite"], r["case_id"], r["case_hash"], -age[r["run_id"]]))
            for row in rows:
                key = (row["suite"], row["case_id"], row["case_hash"], run_model)
                sequences.setdefault(key, []).append(row["status"])
        return [
            FlakyCase(
                suite=suite,
                case_id=case_id,
                case_hash=case_hash,
                model=case_model,
                runs=len(statuses),
                passed=statuses.count("pass"),
                flips=sum(a != b for a, b in pairwise(statuses)),
                last_status=statuses[-1],
            )
            for (suite, case_id, case_hash, case_model), statuses in sequences.items()
        ]

    def _case_row(self, run_id: str, case: CaseResult) -> tuple[Any, ...]:
        return (
            run_id,
            case.suite,
            case.case_id,
            case.case_hash,
            case.model,
            case.provider_model,
            case.attempt,
            case.status,
            case.score,
            case.latency_ms,
            case.input_tokens,
            case.output_tokens,
            case.cost_usd,
            case.retries,
            self._redact(json.dumps(list(case.tags), ensure_ascii=False)),
            self._redact_optional(case.error),
            self._redact_optional(case.output),
            case.min_pass_rate,
        )

    def _redact_optional(self, value: str | None) -> str | None:
        return None if value is None else self._redact(value)

    def _query(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        if not self.exists():
            return []
        with self._connection(create=False) as conn:
            return [dict(row) for row in conn.execute(sql, params)]

    @contextmanager
    def _connection(self, *, create: bool) -> Iterator[sqlite3.Connection]:
        """A short-lived connection with the schema up to date; SQLite's own errors become
        sentences naming the file."""
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # isolation_level=None: transactions are ours (BEGIN IMMEDIATE takes the write
            # lock up front, so two writers queue on the busy timeout instead of failing).
            with closing(
                sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            ) as conn:
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                _migrate(conn, self.path)
                yield conn
        except sqlite3.Error as exc:
            raise LLMTestError(f"history database {self.path}: {exc}") from None


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise LLMTestError(
            f"history database {path} has schema version {version}, newer than this "
            f"llmtest understands ({SCHEMA_VERSION}); upgrade llmtest"
        )
    with _transaction(conn):
        # Another process may have migrated while this one waited for the lock.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for step in MIGRATIONS[version:]:
            for statement in step:
                if isinstance(statement, str):
                    conn.execute(statement)
                else:
                    statement(conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, its lock taken up front (two writers queue on the busy
    timeout instead of failing halfway); rolled back on any error or interruption."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _insert_verdicts(conn: sqlite3.Connection, rows: Iterable[Sequence[Any]]) -> None:
    """Store the verdict of every case among ``rows`` (cases rows, in _CASE_COLUMNS
    order): one row per case per run and model, over all its attempts, decided by
    :func:`~llmtest.results.figures.case_verdict` as every report decides it."""
    verdicts = [
        (*case, *_verdict(list(attempts)))
        for case, attempts in groupby(sorted(rows, key=_case_key), key=_case_key)
    ]
    conn.executemany(
        f"INSERT INTO verdicts ({_VERDICT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        verdicts,
    )


def _backfill_verdicts(conn: sqlite3.Connection) -> None:
    """The verdicts of the runs a version-1 database holds, one run at a time."""
    for (run_id,) in conn.execute("SELECT DISTINCT run_id FROM cases").fetchall():
        rows = conn.execute(f"SELECT {_CASE_COLUMNS} FROM cases WHERE run_id = ?", (run_id,))
        _insert_verdicts(conn, rows.fetchall())


_case_key = itemgetter(*(_COLUMN[c] for c in ("run_id", "suite", "case_id", "case_hash", "model")))


def _verdict(attempts: Sequence[Sequence[Any]]) -> tuple[Any, ...]:
    """attempts, attempts_passed, status, score, latency_ms and error of one case."""
    column = _COLUMN
    if len(attempts) == 1:  # most cases: no lists to build
        (one,) = attempts
        status: Status = one[column["status"]]
        return (
            1,
            int(status == "pass"),
            case_verdict((status,), one[column["min_pass_rate"]]),
            one[column["score"]],
            one[column["latency_ms"]],
            one[column["error"]],
        )
    statuses: list[Status] = [a[column["status"]] for a in attempts]
    scores = [a[column["score"]] for a in attempts]
    latencies = [a[column["latency_ms"]] for a in attempts]
    errors = [a[column["error"]] for a in attempts]
    return (
        len(attempts),
        statuses.count("pass"),
        case_verdict(statuses, max(a[column["min_pass_rate"]] for a in attempts)),
        mean(v for v in scores if v is not None),
        mean(v for v in latencies if v is not None),
        max((e for e in errors if e is not None), default=None),  # as SQL's MAX(error)
    )


class RunRecorder:
    """A run's history rows, built as its records are written while the run waits for
    answers, so that storing it at the end is one transaction and not a second reading
    of the whole results file."""

    def __init__(self, history: History, header: RunHeader) -> None:
        self.history = history
        self.header = header
        self.run_id = _run_id(header)
        self._rows: list[tuple[Any, ...]] = []

    def add(self, record: CaseResult) -> None:
        self._rows.append(self.history._case_row(self.run_id, record))

    def store(self, *, source: Path | str | None = None) -> None:
        self.history._store(
            self.run_id,
            self.header,
            self._rows,
            finished_at=datetime.now(UTC).isoformat(),
            source=source,
        )
