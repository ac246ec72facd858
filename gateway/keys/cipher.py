"""Sealing the private halves of the signing keys for storage.

`signing_keys.private_pem` holds `aesgcm:v1:` + base64(nonce ‖ AES-256-GCM ciphertext of the PKCS8
PEM), the kid bound as associated data, under `GATEWAY_SIGNING_KEY_ENCRYPTION_KEY`, so a dump of the
database cannot mint tokens. Rows stored as plain PEM (databases made before the encryption) still
open; `KeyRing.seal_stored_keys` encrypts them in place at start when the key is set.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.crypto import decode_key

SETTING = "GATEWAY_SIGNING_KEY_ENCRYPTION_KEY"
PREVIOUS_SETTING = "GATEWAY_SIGNING_KEY_ENCRYPTION_KEY_PREVIOUS"
ENCRYPTED_PREFIX = "aesgcm:v1:"
NONCE_BYTES = 12
_PLAIN_PREFIX = "-----BEGIN "


class SigningKeyStoreError(RuntimeError):
    """The stored signing keys cannot be used with the configured encryption key: the gateway does not start."""


def associated_data(kid: str) -> bytes:
    """Binds a ciphertext to its row: another row's ciphertext copied over this one does not decrypt."""
    return b"chungtay.gateway.signing_key:" + kid.encode()


def _aead(value: str, setting: str) -> AESGCM | None:
    if not value.strip():
        return None
    try:
        return AESGCM(decode_key(value, setting))
    except ValueError as exc:
        raise SigningKeyStoreError(str(exc)) from None


class KeyCipher:
    """Seals and opens the stored private keys; `aead` is None when no encryption key is configured.

    `previous` is the encryption key being replaced: rows it opens are re-sealed under the current
    key at start (`KeyRing.seal_stored_keys`), so the key itself can be replaced."""

    def __init__(self, setting_value: str, previous_value: str = "") -> None:
        self.aead = _aead(setting_value, SETTING)
        self.previous = _aead(previous_value, PREVIOUS_SETTING)
        if self.previous is not None and self.aead is None:
            raise SigningKeyStoreError(f"{PREVIOUS_SETTING} is set but {SETTING} is not: set the new key too")

    @property
    def enabled(self) -> bool:
        return self.aead is not None

    @staticmethod
    def is_encrypted(stored: str) -> bool:
        return stored.startswith(ENCRYPTED_PREFIX)

    def seal(self, kid: str, pem: str) -> str:
        """The stored form of a private key: encrypted when a key is configured, the PEM itself otherwise."""
        if self.aead is None:
            return pem
        nonce = os.urandom(NONCE_BYTES)
        sealed = self.aead.encrypt(nonce, pem.encode(), associated_data(kid))
        return ENCRYPTED_PREFIX + base64.b64encode(nonce + sealed).decode()

    def open(self, kid: str, stored: str) -> bytes:
        """The PEM of a stored private key, either form; SigningKeyStoreError if it cannot be read."""
        return self.open_checked(kid, stored)[0]

    def open_checked(self, kid: str, stored: str) -> tuple[bytes, bool]:
        """(PEM, whether the row is sealed under the current key); plain and previous-key rows say False."""
        if stored.lstrip().startswith(_PLAIN_PREFIX):
            return stored.encode(), False
        if not self.is_encrypted(stored):
            raise SigningKeyStoreError(f"signing key {kid}: stored in a form this gateway does not know "
                                       f"(neither {ENCRYPTED_PREFIX!r} nor a PEM)")
        if self.aead is None:
            raise SigningKeyStoreError(f"signing key {kid} is stored encrypted but {SETTING} is not set: "
                                       f"set it to the key the signing keys were encrypted with")
        try:
            blob = base64.b64decode(stored[len(ENCRYPTED_PREFIX):], validate=True)
        except (binascii.Error, ValueError):
            raise SigningKeyStoreError(f"signing key {kid}: the stored row is damaged") from None
        for aead, current in ((self.aead, True), (self.previous, False)):
            if aead is None:
                continue
            try:
                return aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], associated_data(kid)), current
            except InvalidTag:
                continue
        tried = f"{SETTING} or {PREVIOUS_SETTING}" if self.previous is not None else SETTING
        raise SigningKeyStoreError(f"signing key {kid} cannot be decrypted with {tried}: it is not the key "
                                   f"the signing keys were encrypted with (or the row is damaged)")
