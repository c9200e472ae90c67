"""Test-wide settings: Hypothesis profiles for the fuzz tests, and the on-demand ``fuzz_long`` marker.

Profiles (choose with ``--hypothesis-profile NAME`` or ``HYPOTHESIS_PROFILE=NAME``):

* ``ci`` (default): a quick pass, about 30 mutants for each of the three
  property tests in ``test_fuzz_inputs.py`` (~90 in all), no shrinking (a
  mutant's description already says what was changed), sized for a 2-core
  machine (well under 90 s);
* ``long``: thousands of mutants per test, with shrinking.

Tests marked ``fuzz_long`` are skipped unless selected: ``pytest -m fuzz_long``.
Hypothesis keeps failing examples under ``.pytest_cache/hypothesis`` (ignored
by git) and replays them first on the next run.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

try:
    from hypothesis import HealthCheck, Phase, settings
    from hypothesis.database import DirectoryBasedExampleDatabase
except ImportError:  # the other tests do not need Hypothesis
    settings = None

if settings is not None:
    _db = DirectoryBasedExampleDatabase(Path(__file__).resolve().parents[1] / ".pytest_cache" / "hypothesis")
    _slow_ok = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
    settings.register_profile(
        "ci",
        max_examples=30,
        # each example runs validate and perhaps a short run, each under a 10 s limit of its own
        # (tests/fuzz_mutations.py: TIME_LIMIT_S); the deadline is only a backstop
        deadline=timedelta(seconds=25),
        phases=(Phase.explicit, Phase.reuse, Phase.generate),
        database=_db,
        suppress_health_check=_slow_ok,
        print_blob=True,
    )
    settings.register_profile(
        "long",
        max_examples=int(os.environ.get("FUZZ_LONG_EXAMPLES", "3000")),
        deadline=timedelta(seconds=25),
        database=_db,
        suppress_health_check=_slow_ok,
        print_blob=True,
    )
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(config, items):
    if "fuzz_long" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="thousands of mutated scenario files: run on demand with pytest -m fuzz_long")
    for item in items:
        if "fuzz_long" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def mmc_file(tmp_path_factory) -> Path:
    """An M/M/c hall as a scenario file: 1 arrival a minute, 4-minute services (offered load 4), about 1,500
    customers a replication (Erlang C: 5 servers wait 2.22 minutes on average, 6 servers 0.57)."""
    import yaml

    from tests.helpers import single_station

    d = tmp_path_factory.mktemp("mmc")
    s = single_station({"dist": "exponential", "mean": 4.0}, rate_per_minute=1.0, customers=1500, warmup_customers=200, positions=3)
    f = d / "mmc.yaml"
    f.write_text(yaml.safe_dump(s.to_dict(), allow_unicode=True, sort_keys=False), encoding="utf-8")
    return f
