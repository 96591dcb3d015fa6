"""Tokens: made once, shown once, stored as salted scrypt hashes, compared in constant time.

A token reads ``bss2_<id>_<secret>``: the id finds the user's row, the secret (32 random
bytes) is checked against the row's ``scrypt(secret, salt)``. scrypt costs ~50 ms on
purpose; a verified token is remembered in this process as the SHA-256 of its secret next to
the row's hash, so a repeated request costs one lookup and a hash, and a token that was
replaced or a user that was removed stops working at once.

>>> token, token_id, salt, digest = new_token()
>>> token.startswith("bss2_") and verify_secret(token.split("_", 2)[2], salt, digest)
True
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading

from .db import Database, User
from .errors import AuthenticationError

_TOKEN = re.compile(r"^bss2_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def hash_secret(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT)


def verify_secret(secret: str, salt: bytes, digest: bytes) -> bool:
    return hmac.compare_digest(hash_secret(secret, salt), digest)


def add_user(db_path: str, name: str, max_queued: int | None = None, max_runtime_us: float | None = None,
             budget_us: float | None = None) -> str:
    """Add a user to the service database at ``db_path`` (made if missing); their token.
    Quotas left None follow the service's defaults."""
    token, token_id, salt, digest = new_token()
    db = Database(db_path)
    try:
        db.add_user(name, token_id, salt, digest, max_queued, max_runtime_us, budget_us)
    finally:
        db.close()
    return token


def new_token() -> tuple[str, str, bytes, bytes]:
    """A fresh token and what the database keeps of it: ``(token, token_id, salt, hash)``."""
    token_id, secret, salt = secrets.token_hex(8), secrets.token_urlsafe(32), secrets.token_bytes(16)
    return f"bss2_{token_id}_{secret}", token_id, salt, hash_secret(secret, salt)


class Authenticator:
    """Finds the user a token belongs to, or raises ``AuthenticationError``."""

    def __init__(self, db: Database, remembered: int = 4096) -> None:
        self.db = db
        self._known: dict[tuple[str, bytes], bytes] = {}  # (token id, stored hash) → sha256(secret)
        self._remembered = remembered
        self._lock = threading.Lock()

    def user(self, token: str | None) -> User:
        if not token:
            raise AuthenticationError("this request needs a token: send the header 'Authorization: Bearer "
                                      "<token>' (an operator makes one with `bss2emu users add NAME`)")
        m = _TOKEN.match(token)
        user = self.db.user_by_token_id(m.group(1)) if m else None
        if user is None:
            raise AuthenticationError("the token is not known to this service (mistyped, replaced, or its user "
                                      "removed): ask the operator for a new one")
        quick = hashlib.sha256(m.group(2).encode()).digest()
        key = (user.token_id, user.token_hash)
        with self._lock:
            seen = self._known.get(key)
        if seen is not None and hmac.compare_digest(seen, quick):
            return user
        if not verify_secret(m.group(2), user.token_salt, user.token_hash):
            raise AuthenticationError("the token is not known to this service (mistyped, replaced, or its user "
                                      "removed): ask the operator for a new one")
        with self._lock:
            if len(self._known) >= self._remembered:
                self._known.clear()
            self._known[key] = quick
        return user
