"""Vietnamese names for search: lower case, diacritics removed (đ → d), single spaces.

The embedded PostgreSQL has no `unaccent`, so the key is computed in Python and stored
(`units.name_search`); the same function normalises what a user types.
"""

from __future__ import annotations

import unicodedata

_D = str.maketrans({"đ": "d", "Đ": "d"})


def search_key(text: str) -> str:
    """'Phường Hoàng Văn Thụ' → 'phuong hoang van thu'."""
    decomposed = unicodedata.normalize("NFD", text.translate(_D))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.lower().split())
