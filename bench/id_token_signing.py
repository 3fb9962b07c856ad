"""What signing an ID token costs, per token, for RS256 and ES256 (issue 14 §10).

    python -m bench.id_token_signing [--tokens 2000] [--rounds 5]

In process, no server: a key made as the server makes its signing keys
(`server.oauth2.keys.generate_signing_key`, imported once as `import_private_key` keeps it), then
the work `server.oauth2.id_tokens` does per token: the `at_hash`, then joserfc's `jwt.encode` of
a typical claim set (iss, sub, aud, exp, iat, auth_time, nonce, at_hash, amr, name, email).
Verification is timed too (what a relying party pays). The median of `--rounds` rounds of
`--tokens` tokens each; one core. Writes bench/results/<date>-id-token-signing.md.
"""

import argparse
import os
import platform
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oauth_console.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()


def _claims(access_token: str, alg: str) -> dict:
    from authlib.oidc.core.util import create_half_hash

    now = int(time.time())
    return {
        "iss": "https://auth.example.com",
        "sub": "1234",
        "aud": "s6BhdRkqt3",
        "exp": now + 3600,
        "iat": now,
        "auth_time": now - 60,
        "nonce": "n-0S6_WzA2Mj",
        "at_hash": create_half_hash(access_token, alg).decode("ascii"),
        "amr": ["pwd"],
        "name": "Alice Liddell",
        "email": "alice@example.com",
        "email_verified": False,
    }


def measure(alg: str, tokens: int, rounds: int) -> dict:
    """Microseconds per token (median of rounds) to sign and to verify, and the token's length."""
    from joserfc import jwt
    from joserfc.jwk import import_key

    from server.oauth2.keys import generate_signing_key, import_private_key

    kid, public, private_json = generate_signing_key(alg)
    key = import_private_key(kid, private_json)
    verifier = import_key(public)
    header = {"alg": alg, "kid": kid, "typ": "JWT"}
    access_token = "oat_" + "x" * 43
    sign, verify = [], []
    token = ""
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(tokens):
            token = jwt.encode(header, _claims(access_token, alg), key, algorithms=[alg])
        sign.append((time.perf_counter() - started) / tokens * 1e6)
        started = time.perf_counter()
        for _ in range(tokens):
            jwt.decode(token, verifier, algorithms=[alg])
        verify.append((time.perf_counter() - started) / tokens * 1e6)
    return {
        "alg": alg,
        "sign_us": statistics.median(sign),
        "verify_us": statistics.median(verify),
        "rounds_sign_us": sign,
        "length": len(token),
    }


def report(results: list[dict], tokens: int, rounds: int) -> str:
    import cryptography
    import joserfc

    lines = [
        f"# ID-token signing cost ({datetime.now(UTC):%Y-%m-%d})",
        "",
        "`python -m bench.id_token_signing` (issue 14 §10): the per-token work of "
        "`server.oauth2.id_tokens` (at_hash + joserfc `jwt.encode`), one core, in process.",
        "",
        "| Algorithm | Sign (µs/token) | Tokens/s per core | Verify (µs/token, the RP's cost) "
        "| ID token length |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in results:
        per_second = 1e6 / r["sign_us"]
        lines.append(
            f"| {r['alg']} | {r['sign_us']:.0f} | {per_second:.0f} | {r['verify_us']:.0f} | {r['length']} |"
        )
    lines += [
        "",
        f"Median of {rounds} rounds of {tokens} tokens; rounds (sign, µs): "
        + "; ".join(f"{r['alg']} " + ", ".join(f"{v:.0f}" for v in r["rounds_sign_us"]) for r in results),
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared), "
        f"Python {platform.python_version()}, "
        f"cryptography {cryptography.__version__}, joserfc {joserfc.__version__}.",
        "",
        "RS256 keys are RSA 2048 (a private-key operation per token); ES256 keys are P-256.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.id_token_signing", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    _setup()
    results = [measure(alg, args.tokens, args.rounds) for alg in ("RS256", "ES256")]
    text = report(results, args.tokens, args.rounds)
    print(text)
    if not args.no_write:
        path = RESULTS / f"{datetime.now(UTC):%Y-%m-%d}-id-token-signing.md"
        path.write_text(text)
        print(f"written: {path}")


if __name__ == "__main__":
    main()
