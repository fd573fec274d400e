"""JWTs signed with Ed25519 (EdDSA): the daemon mints them; the edge only verifies.

The key pair lives in the data folder (or PAPERTRADE_JWT_PRIVATE_KEY / _PUBLIC_KEY, PEM text or
a file path). The edge gets the public key alone, so it can never mint a token.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import jwt
import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from daemon.clock import Clock

ISSUER = "papertrade"
LEEWAY = timedelta(seconds=30)  # clock skew between the daemon, the edge and browsers
PRIVATE_KEY_FILE = "jwt_ed25519.pem"
PUBLIC_KEY_FILE = "jwt_ed25519.pub.pem"
_VERIFIED_CACHE = 10_000


class TokenError(Exception):
    """The token is missing, malformed, forged or expired; the message says which."""


class Claims(msgspec.Struct, frozen=True):
    user_id: uuid.UUID
    role: str
    expires_at: datetime
    generation: int  # the user's token generation when minted (see daemon/token_check.py)


def _pem(value: str) -> bytes:
    """PEM text as given, or the contents of the file it names."""
    return value.encode() if "-----BEGIN" in value else Path(value).expanduser().read_bytes()


def load_or_create_private_key(data_dir: Path, configured: str | None) -> Ed25519PrivateKey:
    if configured:
        key = serialization.load_pem_private_key(_pem(configured), password=None)
    else:
        path = data_dir / PRIVATE_KEY_FILE
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        else:
            key = Ed25519PrivateKey.generate()
            data_dir.mkdir(parents=True, exist_ok=True)
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(pem)
        (data_dir / PUBLIC_KEY_FILE).write_bytes(public_pem(key.public_key()))
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("PAPERTRADE_JWT_PRIVATE_KEY must be an Ed25519 private key")
    return key


def load_public_key(data_dir: Path, configured: str | None) -> Ed25519PublicKey:
    pem = _pem(configured) if configured else (data_dir / PUBLIC_KEY_FILE).read_bytes()
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("PAPERTRADE_JWT_PUBLIC_KEY must be an Ed25519 public key")
    return key


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("a time claim must be a number")
    return value


class TokenMinter:
    def __init__(self, key: Ed25519PrivateKey, clock: Clock, ttl: timedelta) -> None:
        self._key = key
        self._clock = clock
        self.ttl = ttl

    def mint(self, user_id: uuid.UUID, role: str, generation: int = 0) -> str:
        now = self._clock.now()
        claims = {
            "iss": ISSUER,
            "sub": str(user_id),
            "role": role,
            "gen": generation,
            "iat": int(now.timestamp()),
            "exp": int((now + self.ttl).timestamp()),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._key, algorithm="EdDSA")


class TokenVerifier:
    """Checks signature, issuer and expiry; remembers verified tokens to skip repeat signature checks."""

    def __init__(self, key: Ed25519PublicKey, clock: Clock) -> None:
        self._key = key
        self._clock = clock
        self._verified: dict[str, Claims] = {}

    def verify(self, token: str) -> Claims:
        claims = self._verified.get(token)
        if claims is None:
            claims = self._decode(token)
            if len(self._verified) >= _VERIFIED_CACHE:
                self._verified.clear()
            self._verified[token] = claims
        if self._clock.now() > claims.expires_at + LEEWAY:
            self._verified.pop(token, None)
            raise TokenError("the token has expired; log in again")
        return claims

    def _decode(self, token: str) -> Claims:
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=["EdDSA"],
                issuer=ISSUER,
                # Times are checked below, against our clock (the injected one in tests).
                options={
                    "require": ["exp", "sub", "iss"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
            # iat and nbf get the same leeway as exp: a clock a little behind the minter's must
            # not refuse a token just minted.
            latest = (self._clock.now() + LEEWAY).timestamp()
            for claim in ("iat", "nbf"):
                if _number(payload.get(claim, 0)) > latest:
                    raise jwt.ImmatureSignatureError(claim)
            generation = payload.get("gen", 0)
            if not isinstance(generation, int) or isinstance(generation, bool):
                raise TypeError("gen")
            return Claims(
                user_id=uuid.UUID(payload["sub"]),
                role=str(payload.get("role", "USER")),
                expires_at=datetime.fromtimestamp(payload["exp"], tz=self._clock.now().tzinfo),
                generation=generation,
            )
        except jwt.ImmatureSignatureError:
            raise TokenError("the token is not valid yet; check this machine's clock") from None
        except (jwt.InvalidTokenError, ValueError, KeyError, TypeError, OverflowError, OSError):
            # The decoder's own words would tell a prober what was checked; say what to do.
            raise TokenError("the token is not valid; log in again") from None
