"""Message signatures (the spec's `signature`: "{header}+{message} verified using the sender's
public key"), as a compact JWS over the canonical JSON of `{"header": ..., "message": ...}`.

The JWS may carry that payload (then it must equal the message received, compared as JSON values) or
be detached (`<protected>..<signature>`, RFC 7515 appendix F: the payload is the canonical bytes).
Canonical JSON: keys sorted, no spaces, UTF-8 (`canonical()`). A key is a registered JWK; `kid`
picks it when a client has several. Algorithms: EdDSA (Ed25519), ES256, RS256, PS256.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import jwt
from jwt.api_jws import PyJWS

ALGORITHMS = ("EdDSA", "ES256", "RS256", "PS256")
_JWS = PyJWS(algorithms=list(ALGORITHMS))


class SignatureRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message  # err.signature.missing | err.signature.invalid


def canonical(header: Any, message: Any) -> bytes:
    return json.dumps({"header": header, "message": message}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def check_key(jwk: Mapping[str, Any]) -> str | None:
    """Why a JWK cannot be registered, or None."""
    if not isinstance(jwk, Mapping) or jwk.get("d") is not None:
        return "a public JWK (never a private one) is expected"
    try:
        jwt.PyJWK(dict(jwk))
    except Exception as exc:  # PyJWT raises several types for a bad key
        return f"not a usable JWK: {exc}"
    return None


def verify(body: Mapping[str, Any], keys: Sequence[Mapping[str, Any]]) -> None:
    """The signature of a message from a client holding `keys`; SignatureRefused when it is missing
    or does not verify."""
    token = body.get("signature")
    if not isinstance(token, str) or not token:
        raise SignatureRefused("err.signature.missing", "this client must sign its messages (signature)")
    try:
        protected = _JWS.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise SignatureRefused("err.signature.invalid", f"the signature is not a compact JWS: {exc}") from exc
    kid = protected.get("kid")
    candidates = [k for k in keys if kid is None or k.get("kid") == kid]
    if not candidates:
        raise SignatureRefused("err.signature.invalid", f"no registered key has kid '{kid}'")
    detached = token.split(".")[1] == ""
    expected = canonical(body.get("header"), body.get("message"))
    for jwk in candidates:
        try:
            key = jwt.PyJWK(dict(jwk))
            decoded = _JWS.decode_complete(token, key=key, algorithms=list(ALGORITHMS),
                                           detached_payload=expected if detached else None)
        except jwt.PyJWTError:
            continue
        if detached or _same_json(decoded["payload"], expected):
            return
        raise SignatureRefused("err.signature.invalid", "the signed payload is not this message")
    raise SignatureRefused("err.signature.invalid", "the signature does not verify with the client's keys")


def _same_json(payload: bytes, expected: bytes) -> bool:
    try:
        return bool(json.loads(payload) == json.loads(expected))
    except ValueError:
        return False


def sign(header: Any, message: Any, private_jwk: Mapping[str, Any], detached: bool = True) -> str:
    """A client's signature (tests and the bench sign like a DCI client would)."""
    key = jwt.PyJWK(dict(private_jwk))
    headers = {"kid": private_jwk["kid"]} if private_jwk.get("kid") else None
    return _JWS.encode(canonical(header, message), key, algorithm=key.algorithm_name, headers=headers,
                       is_payload_detached=detached)


class Signer:
    """The registry's own signature on what it sends (sync answers and every callback), so a client
    can check that a message comes from the registry unchanged: REGISTRY_DCI_SIGNING_KEY, a private
    JWK with its `kid` (Ed25519 recommended)."""

    def __init__(self, private_jwk_json: str) -> None:
        import orjson

        jwk = orjson.loads(private_jwk_json)
        if not isinstance(jwk, dict) or not jwk.get("kid") or jwk.get("d") is None:
            raise ValueError("REGISTRY_DCI_SIGNING_KEY must be a private JWK with a kid")
        self._jwk = jwk
        self.public_jwk = {k: v for k, v in jwk.items() if k not in ("d", "p", "q", "dp", "dq", "qi")}
        sign({}, {}, jwk)  # fails now, at start, rather than on the first message

    def signed(self, envelope: dict[str, Any]) -> dict[str, Any]:
        return {**envelope, "signature": sign(envelope.get("header"), envelope.get("message"), self._jwk)}


def generate_signing_key(kid: str) -> str:
    """A new private Ed25519 JWK with `kid`, as REGISTRY_DCI_SIGNING_KEY takes it (`make run` makes one;
    for Compose and Kubernetes deploy/dci-keys.sh does the same with openssl)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from jwt.algorithms import OKPAlgorithm

    return json.dumps({**json.loads(OKPAlgorithm.to_jwk(Ed25519PrivateKey.generate())), "kid": kid})
