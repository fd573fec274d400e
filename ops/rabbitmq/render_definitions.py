#!/usr/bin/env python3
"""Fill RabbitMQ password hashes into definitions.json and write the copy the broker loads.

Every `"password_hash": "RENDER_ME:<VAR>"` in ops/rabbitmq/definitions.json is replaced by the
salted SHA-256 hash of the password in <VAR>, read from --env-file (KEY=VALUE lines, e.g.
ops/edge/.env) or, failing that, from the environment. Standard library only; Python >= 3.9.

    python3 ops/rabbitmq/render_definitions.py --env-file ops/edge/.env \\
        --out ops/edge/secrets/definitions.json
    python3 ops/rabbitmq/render_definitions.py --hash    # prompt for one password, print its hash
"""

from __future__ import annotations

import argparse
import base64
import getpass
import hashlib
import json
import os
import secrets
import sys
from pathlib import Path

PLACEHOLDER_PREFIX = "RENDER_ME:"
TEMPLATE = Path(__file__).with_name("definitions.json")


def rabbitmq_password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + utf8 password))."""
    salt = secrets.token_bytes(4) if salt is None else salt
    if len(salt) != 4:
        raise ValueError("RabbitMQ password salts are exactly 4 bytes")
    digest = hashlib.sha256(salt + password.encode("utf-8")).digest()
    return base64.b64encode(salt + digest).decode("ascii")


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as docker compose reads them: '#' comments, optional matching quotes."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise SystemExit(f"{path}:{number}: expected KEY=VALUE, got {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def render(definitions: dict, passwords: dict[str, str]) -> dict:
    """Replace every placeholder hash; exit with the list of missing variables if any is unset."""
    missing: list[str] = []
    for user in definitions.get("users", []):
        placeholder = user.get("password_hash", "")
        if not placeholder.startswith(PLACEHOLDER_PREFIX):
            continue
        variable = placeholder.removeprefix(PLACEHOLDER_PREFIX)
        password = passwords.get(variable, "")
        if not password:
            missing.append(f"{variable} (user {user['name']})")
            continue
        user["password_hash"] = rabbitmq_password_hash(password)
        user["hashing_algorithm"] = "rabbit_password_hashing_sha256"
    if missing:
        raise SystemExit("set these passwords first: " + ", ".join(missing))
    return definitions


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-file", type=Path, help="KEY=VALUE file with the passwords")
    parser.add_argument("--out", type=Path, help="where to write the rendered definitions")
    parser.add_argument("--template", type=Path, default=TEMPLATE, help="default: %(default)s")
    parser.add_argument("--hash", action="store_true", help="print the hash of one password")
    args = parser.parse_args(argv)

    if args.hash:
        print(rabbitmq_password_hash(getpass.getpass("password: ")))
        return
    if args.out is None:
        parser.error("--out is required (or use --hash)")

    passwords = dict(os.environ)
    if args.env_file is not None:
        passwords.update(read_env_file(args.env_file))
    definitions = render(json.loads(args.template.read_text(encoding="utf-8")), passwords)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    # Readable by the broker's own user inside the container; keep the folder itself private.
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(definitions, out, indent=2)
        out.write("\n")
    print(f"wrote {args.out} ({len(definitions.get('users', []))} users)", file=sys.stderr)


if __name__ == "__main__":
    main()
