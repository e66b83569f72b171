"""Password hashing with argon2id (OWASP's minimum: 19 MiB, two passes, one lane)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# About 30 ms a hash on one core; raise these and stored hashes are upgraded at next sign-in.
MEMORY_COST_KIB = 19_456
TIME_COST = 2
PARALLELISM = 1

_hasher = PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_COST_KIB, parallelism=PARALLELISM)


def hash_password(password: str) -> str:
    """The argon2id encoded hash (salt and parameters included) of a password."""
    return _hasher.hash(password)


@cache
def _decoy_hash() -> str:
    return _hasher.hash("decoy password that no account has")


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when the password matches; without a stored hash a decoy is verified instead, so
    unknown emails take as long to refuse as wrong passwords (no enumeration by timing)."""
    try:
        return _hasher.verify(stored_hash or _decoy_hash(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the stored hash was made with other parameters than today's."""
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True
