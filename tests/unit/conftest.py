"""Shared unit-test fixtures: the sample snapshot, the tiny snapshot, cheap password hashing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from reference_evaluator import SAMPLE_DIR, ReferenceEvaluator, sample_available
from snapshot_factory import write_tiny_snapshot

from queries.cohort.catalog import Catalog, build_catalog
from queries.snapshot.database import SnapshotDatabase
from queries.snapshot.files import open_snapshot


@dataclass
class Sample:
    """data/sample opened for one test module; its catalog and pandas reference on demand."""

    db: SnapshotDatabase

    @cached_property
    def catalog(self) -> Catalog:
        return build_catalog(self.db)

    @cached_property
    def reference(self) -> ReferenceEvaluator:
        return ReferenceEvaluator.from_db(self.db)


@pytest.fixture(scope="session")
def sample_cache(tmp_path_factory) -> Path:
    """One cache folder for the run, so data/sample's database file is built once."""
    return tmp_path_factory.mktemp("sample-cache")


@pytest.fixture(scope="module")
def sample(sample_cache) -> Iterator[Sample]:
    """data/sample, opened per test module (cohorts a module materializes stay its own)."""
    if not sample_available():
        pytest.skip("data/sample is not generated yet")
    db = open_snapshot(SAMPLE_DIR, sample_cache)
    yield Sample(db)
    db.close()


@pytest.fixture(scope="session")
def pristine(tmp_path_factory) -> Path:
    """The tiny snapshot (snapshot_factory), written once; copy it before changing it."""
    out = tmp_path_factory.mktemp("pristine") / "tiny"
    write_tiny_snapshot(out)
    return out


@pytest.fixture
def fast_hashing(monkeypatch):
    """Cheaper argon2id parameters so the suite stays fast (production keeps RFC 9106's)."""
    from access import users

    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(users, "_HASHER", hasher)
    monkeypatch.setattr(users, "_DUMMY_HASH", hasher.hash("dummy"))
