"""Symmetric keys given in settings: 32 random bytes written as base64 (standard or URL-safe) or hex."""

from __future__ import annotations

import base64
import binascii
import os

KEY_BYTES = 32


def decode_key(value: str, name: str) -> bytes:
    """A 32-byte key from its base64 (standard or URL-safe) or hex text; ValueError naming `name` otherwise."""
    text = value.strip()
    for decoder in (base64.b64decode, base64.urlsafe_b64decode, bytes.fromhex):
        try:
            key = decoder(text)
        except (binascii.Error, ValueError):
            continue
        if len(key) == KEY_BYTES:
            return key
    raise ValueError(f"{name} must be {KEY_BYTES} bytes in base64 or hex")


def generate_key() -> str:
    """A new random key in the base64 form the settings expect (`openssl rand -base64 32` makes the same)."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()
