"""Encrypted DCI messages (`header.is_msg_encrypted` = true).

The spec's `EncryptedMessage` — `{header: {alg, enc, kid}, encrypted_key, iv, ciphertext, tag}` — is a
JWE (RFC 7516) in the flattened JSON serialization whose JOSE header is the unprotected per-recipient
`header`; its plaintext is the UTF-8 JSON of the clear `message`. The envelope's `header` stays in
clear, and the signature covers the header and the message as sent (encrypted).

- A client encrypts to the registry's key: REGISTRY_DCI_ENCRYPTION_KEY, a private JWK with its `kid`
  (RSA of 2048 bits or more, or EC P-256); its public half is listed at /registry/dci/keys with
  `"use": "enc"`. A registry without that key refuses encrypted messages.
- The registry encrypts the `message` of every envelope it sends a client that registered an
  encryption key (a public JWK with `"use": "enc"` among its `public_keys`): sync answers, callbacks
  and notifications. Such a client only can send encrypted messages (the answer to one is encrypted).

Algorithms (`alg`): RSA-OAEP-256, ECDH-ES+A256KW, ECDH-ES+A128KW; content (`enc`): A256GCM, A128GCM.
The JWE work is jwcrypto's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from jwcrypto import jwe, jwk
from jwcrypto.common import base64url_decode

ALGORITHMS = ("RSA-OAEP-256", "ECDH-ES+A256KW", "ECDH-ES+A128KW")
CONTENT_ALGORITHMS = ("A256GCM", "A128GCM")
CONTENT_ALGORITHM = "A256GCM"  # what the registry encrypts with
_DEFAULT_ALG = {"RSA": "RSA-OAEP-256", "EC": "ECDH-ES+A256KW"}
MIN_RSA_BITS = 2048
_PRIVATE_PARTS = ("d", "p", "q", "dp", "dq", "qi")


class EncryptionRefused(Exception):
    """A message that cannot be decrypted, or a key that cannot be used (err.encryption.invalid)."""

    code = "err.encryption.invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def is_encryption_key(key: Mapping[str, Any]) -> bool:
    return key.get("use") == "enc"


def encryption_key(keys: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The client's registered encryption key, if any (the first with `"use": "enc"`)."""
    return next((k for k in keys if is_encryption_key(k)), None)


def _usable(key: Mapping[str, Any], private: bool) -> jwk.JWK:
    """The JWK as jwcrypto's, checked: RSA >= 2048 bits or EC P-256, a kid, an algorithm we use."""
    if not isinstance(key.get("kid"), str) or not key["kid"]:
        raise EncryptionRefused("an encryption key needs a kid")
    if key.get("alg") is not None and key["alg"] not in ALGORITHMS:
        raise EncryptionRefused(f"alg must be one of {', '.join(ALGORITHMS)}")
    if not private and any(key.get(part) is not None for part in _PRIVATE_PARTS):
        raise EncryptionRefused("a public JWK (never a private one) is expected")
    try:
        found = jwk.JWK(**{k: v for k, v in key.items() if k != "use"})
    except Exception as exc:  # jwcrypto raises several types for a bad key
        raise EncryptionRefused(f"not a usable JWK: {exc}") from exc
    kty = found.get("kty")
    if kty == "RSA":
        bits = len(base64url_decode(found.get("n"))) * 8
        if bits < MIN_RSA_BITS:
            raise EncryptionRefused(f"an RSA encryption key has at least {MIN_RSA_BITS} bits")
    elif not (kty == "EC" and found.get("crv") == "P-256"):
        raise EncryptionRefused("an encryption key is RSA or EC P-256")
    if private and not found.has_private:
        raise EncryptionRefused("the registry's encryption key must be a private JWK")
    return found


def check_key(key: Mapping[str, Any]) -> str | None:
    """Why a client's encryption key cannot be registered, or None."""
    try:
        _usable(key, private=False)
    except EncryptionRefused as exc:
        return exc.message
    return None


def _algorithm(key: Mapping[str, Any]) -> str:
    return str(key.get("alg") or _DEFAULT_ALG[str(key["kty"])])


def encrypt(message: Any, key: Mapping[str, Any]) -> dict[str, Any]:
    """`message` as an EncryptedMessage for the holder of the public `key`."""
    token = jwe.JWE(orjson.dumps(message), recipient=_usable(key, private=False), header=json.dumps(
        {"alg": _algorithm(key), "enc": CONTENT_ALGORITHM, "kid": key["kid"]}))
    encrypted: dict[str, Any] = json.loads(token.serialize(compact=False))
    return encrypted


def sealed_for(envelope: dict[str, Any], keys: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The envelope with its message encrypted when the client registered an encryption key; an
    acknowledgement (no header) or an envelope without a message is left as it is."""
    key = encryption_key(keys)
    if key is None or "header" not in envelope or "message" not in envelope:
        return envelope
    return {**envelope, "header": {**envelope["header"], "is_msg_encrypted": True},
            "message": encrypt(envelope["message"], key)}


class Decrypter:
    """The registry's own encryption key: opens what clients encrypt to it."""

    def __init__(self, private_jwk_json: str) -> None:
        key = orjson.loads(private_jwk_json)
        if not isinstance(key, dict):
            raise ValueError("REGISTRY_DCI_ENCRYPTION_KEY must be a private JWK with a kid")
        try:
            self._key = _usable(key, private=True)
        except EncryptionRefused as exc:
            raise ValueError(f"REGISTRY_DCI_ENCRYPTION_KEY: {exc.message}") from exc
        self.kid = str(key["kid"])
        public = {k: v for k, v in key.items() if k not in _PRIVATE_PARTS}
        self.public_jwk = {**public, "use": "enc", "alg": _algorithm(key)}

    def open(self, encrypted: Any) -> dict[str, Any]:
        """The clear message of an EncryptedMessage; EncryptionRefused when it is not one for this key."""
        if not isinstance(encrypted, Mapping) or not isinstance(encrypted.get("header"), Mapping):
            raise EncryptionRefused("an encrypted message is an EncryptedMessage: header, encrypted_key, iv, "
                                    "ciphertext, tag")
        kid = encrypted["header"].get("kid")
        if kid != self.kid:
            raise EncryptionRefused(f"the message is encrypted to key '{kid}'; the registry's key is '{self.kid}' "
                                    "(see /registry/dci/keys)")
        token = jwe.JWE()
        token.allowed_algs = [*ALGORITHMS, *CONTENT_ALGORITHMS]
        try:
            token.deserialize(orjson.dumps(encrypted).decode(), key=self._key)
            message = orjson.loads(token.payload)
        except Exception as exc:  # jwcrypto raises several types for a bad token
            raise EncryptionRefused(f"the message cannot be decrypted: {type(exc).__name__}") from exc
        if not isinstance(message, dict):
            raise EncryptionRefused("the decrypted message is not a JSON object")
        return message


def generate_key(kid: str) -> str:
    """A new private EC P-256 JWK with `kid`, as REGISTRY_DCI_ENCRYPTION_KEY takes it (`make run` makes one;
    for Compose and Kubernetes deploy/dci-keys.sh does the same with openssl)."""
    return str(jwk.JWK.generate(kty="EC", crv="P-256", kid=kid).export_private())
