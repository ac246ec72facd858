"""What DCI keeps sealed — an async request and its answer (`dci_transactions.request_sealed`,
`response_sealed`) and a callback's body (`dci_deliveries.body_sealed`) — under the personal-data key
with DCI's own purpose (personal_data.DCI_ASSOCIATED_DATA), never the Idempotency-Key answers' one.

Rows sealed before that (migration registry_0008) were sealed with the Idempotency-Key answers'
purpose; the migration flagged them `legacy_seal`, and only a flagged row is opened with that purpose,
so a value sealed for an Idempotency-Key answer never opens as a DCI message. Flagged rows are sealed
again with DCI's purpose by the registry's housekeeping (`reseal_legacy`), by the worker when it
completes such an async search, and by `services.registry.rekey`.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag

from services.registry.personal_data import DCI_ASSOCIATED_DATA, RESPONSE_ASSOCIATED_DATA, PersonalDataCipher

PURPOSE = DCI_ASSOCIATED_DATA
LEGACY_PURPOSE = RESPONSE_ASSOCIATED_DATA  # rows flagged legacy_seal only


def purpose(legacy: bool) -> bytes:
    return LEGACY_PURPOSE if legacy else PURPOSE


def seal(cipher: PersonalDataCipher, body: bytes) -> bytes:
    return cipher.seal(body, PURPOSE)


def unsealed(cipher: PersonalDataCipher, sealed: bytes | None, legacy: bool = False) -> bytes | None:
    """A sealed value, or None when it cannot be opened: sealed under personal-data keys that have since
    been replaced (services.registry.rekey), for another purpose, or damaged. Such a row never holds
    the worker up."""
    try:
        return cipher.open(bytes(sealed or b""), purpose(legacy))
    except (InvalidTag, ValueError):
        return None
