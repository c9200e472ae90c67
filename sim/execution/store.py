"""An append-only store of finished replications, so a killed sweep resumes without loss.

SQLite (in Python's standard library, one file, transactional): each
replication's KPI rows and its "done" mark are written in one transaction
as soon as the replication finishes, so after a kill a replication is either
wholly in the store or not at all, and a restart runs only what is missing.
Rows are keyed by the model hash (:meth:`Scenario.model_hash`), the seed and
the replication index: what fixes the numbers, and nothing else.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd

from ..errors import Problem, ScenarioError

__all__ = ["ReplicationStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS done (
    model_hash TEXT NOT NULL, seed INTEGER NOT NULL, replication INTEGER NOT NULL,
    PRIMARY KEY (model_hash, seed, replication)
);
CREATE TABLE IF NOT EXISTS kpis (
    model_hash TEXT NOT NULL, seed INTEGER NOT NULL, replication INTEGER NOT NULL,
    scope TEXT NOT NULL, kpi TEXT NOT NULL, value REAL,
    PRIMARY KEY (model_hash, seed, replication, scope, kpi)
);
CREATE TABLE IF NOT EXISTS models (model_hash TEXT PRIMARY KEY, scenario TEXT NOT NULL, point TEXT NOT NULL);
"""


class ReplicationStore:
    """Finished replications' KPIs in a SQLite file (created if missing)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path)
            self._db.executescript(_SCHEMA)
            self._db.commit()
        except (OSError, sqlite3.Error) as exc:  # a folder, a file that is not a store, no permission
            raise ScenarioError([Problem("store", f"cannot be used as a replication store ({exc})")], str(path)) from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "ReplicationStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def register(self, model_hash: str, scenario: str, point: dict) -> None:
        """Name a model (its scenario file label and parameter point) for the tables."""
        with self._db:
            self._db.execute(
                "INSERT OR IGNORE INTO models VALUES (?, ?, ?)", (model_hash, scenario, json.dumps(point, sort_keys=True))
            )

    def finished(self, model_hash: str, seed: int) -> set[int]:
        """Replication indices already stored for this model and seed."""
        rows = self._db.execute("SELECT replication FROM done WHERE model_hash = ? AND seed = ?", (model_hash, seed))
        return {r for (r,) in rows}

    def add(self, model_hash: str, seed: int, replication: int, kpis: pd.DataFrame) -> None:
        """One finished replication's KPI rows (scope, kpi, value), all or nothing."""
        rows = [
            (model_hash, seed, replication, str(s), str(k), None if v != v else float(v))
            for s, k, v in kpis[["scope", "kpi", "value"]].itertuples(index=False)
        ]
        with self._db:  # one transaction: a kill leaves the replication wholly in or wholly out
            self._db.executemany("INSERT OR REPLACE INTO kpis VALUES (?, ?, ?, ?, ?, ?)", rows)
            self._db.execute("INSERT OR IGNORE INTO done VALUES (?, ?, ?)", (model_hash, seed, replication))

    def kpis(self, model_hashes: list[str] | None = None, seed: int | None = None) -> pd.DataFrame:
        """Stored KPI rows with their model's scenario label and point (as JSON text)."""
        sql = (
            "SELECT k.model_hash, m.scenario, m.point, k.seed, k.replication, k.scope, k.kpi, k.value "
            "FROM kpis k JOIN models m USING (model_hash)"
        )
        where, args = [], []
        if model_hashes is not None:
            where.append(f"k.model_hash IN ({','.join('?' * len(model_hashes))})")
            args += model_hashes
        if seed is not None:
            where.append("k.seed = ?")
            args.append(seed)
        if where:
            sql += " WHERE " + " AND ".join(where)
        return pd.read_sql_query(sql + " ORDER BY k.model_hash, k.replication, k.scope, k.kpi", self._db, params=args)
