"""Optional login for the app: a credentials file the operator keeps (``--auth FILE``).

One ``user:secret`` per line; ``#`` starts a comment. The secret is either a PBKDF2-SHA256
hash written by ``gaokerena ui --hash-password`` (``pbkdf2_sha256$ITERATIONS$SALT$HASH``,
what to keep on a shared machine) or, for a quick local trial, the password itself.

Every login attempt costs one PBKDF2 of the file's strongest iteration count, whether the
user exists or not and whatever the secret's kind, so the time of an answer does not tell
which user names are real; the work runs off the server's event loop. Failed attempts are
slowed per client by ``ui.guard``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Callable

PREFIX = "pbkdf2_sha256"
ITERATIONS = 600_000


class AuthFileError(ValueError):
    pass


def hash_password(password: str, iterations: int = ITERATIONS, salt: str | None = None) -> str:
    if not password:
        raise ValueError("the password is empty")
    salt = salt or secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt.encode("ascii"), iterations)
    return f"{PREFIX}${iterations}${salt}${digest.hex()}"


def verify(password: str, secret: str) -> bool:
    if not secret.startswith(PREFIX + "$"):
        return hmac.compare_digest(password.encode("utf-8"), secret.encode("utf-8"))
    _, iterations, salt, _digest = secret.split("$")
    return hmac.compare_digest(hash_password(password, int(iterations), salt), secret)


def read_credentials(path: str | Path) -> dict[str, str]:
    """``{user: secret}`` from the file; a malformed line is an error naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise AuthFileError(f"{path}: no such credentials file")
    users: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, secret = line.partition(":")
        user, secret = user.strip(), secret.strip()
        if not sep or not user or not secret:
            raise AuthFileError(f"{path}, line {number}: expected user:secret")
        if secret.startswith(PREFIX + "$"):
            parts = secret.split("$")
            if len(parts) != 4 or not parts[1].isdigit() or not parts[2] or not parts[3]:
                raise AuthFileError(f"{path}, line {number}: a hash must read {PREFIX}$ITERATIONS$SALT$HASH")
        if user in users:
            raise AuthFileError(f"{path}, line {number}: user {user!r} is listed twice")
        users[user] = secret
    if not users:
        raise AuthFileError(f"{path}: no user:secret line")
    return users


def _iterations(secret: str) -> int:
    return int(secret.split("$")[1]) if secret.startswith(PREFIX + "$") else 0


def checker(path: str | Path) -> Callable[[str, str], bool]:
    """The ``auth`` callable Gradio awaits with what the login form received."""
    users = read_credentials(path)
    dummy = hash_password(secrets.token_hex(16), max((_iterations(s) for s in users.values() if _iterations(s)),
                                                     default=ITERATIONS))

    def check_now(user: str, password: str) -> bool:
        secret = users.get(user)
        if secret is None or not secret.startswith(PREFIX + "$"):
            verify(password, dummy)  # unknown users and plain secrets cost the same PBKDF2 as a hashed one
        return secret is not None and verify(password, secret)

    async def check(user: str, password: str) -> bool:
        return await asyncio.to_thread(check_now, user, password)

    return check
