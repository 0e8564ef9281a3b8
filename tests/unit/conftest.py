"""Shared unit-test fixtures."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher


@pytest.fixture
def fast_hashing(monkeypatch):
    """Cheaper argon2id parameters so the suite stays fast (production keeps RFC 9106's)."""
    from access import users

    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(users, "_HASHER", hasher)
    monkeypatch.setattr(users, "_DUMMY_HASH", hasher.hash("dummy"))
