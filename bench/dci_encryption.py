"""What encrypted DCI messages cost the registry per message (services/registry/dci/encryption.py), in
CPU time on this machine, next to signing the same envelope (the registry signs every answer when it
has a signing key) measured in the same run as the baseline:

- opening a client's encrypted search request (one NationalID item) with the registry's key;
- encrypting a sync answer (one household of 3 members, the `full` profile) to a client's key;
for an EC P-256 key (ECDH-ES+A256KW) and an RSA-2048 key (RSA-OAEP-256), content A256GCM.

The answer's size matters little (AES-GCM runs at GB/s); the key agreement or RSA operation dominates.
Usage: .venv/bin/python -m bench.dci_encryption [--messages 2000]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import time
from collections.abc import Callable
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwcrypto import jwk
from jwt.algorithms import OKPAlgorithm

from services.registry.dci import encryption, signatures

HEADER = {"version": "1.0.0", "message_id": "m-1", "message_ts": "2026-12-06T09:00:00+07:00", "action": "on-search",
          "status": "succ", "total_count": 1, "completed_count": 1, "sender_id": "chungtay.registry",
          "receiver_id": "bhxh", "is_msg_encrypted": False}
PERSON = {"@type": "spdci:Member", "member_identifier": [{"identifier_type": "RegistryId", "identifier_value": "0193"}],
          "demographic_info": {"@type": "spdci:SRPerson", "sex": "female", "birth_date": "1980-01-01",
                               "identifier": [{"identifier_type": "NationalID", "identifier_value": "024088001234"}],
                               "name": {"surname": "Nguyễn", "second_name": "Thị", "given_name": "Lan"}}}
ANSWER = {"transaction_id": "T-1", "correlation_id": "C-1", "search_response": [{
    "reference_id": "R-1", "timestamp": "2026-12-06T09:00:00+07:00", "status": "succ", "locale": "vie",
    "pagination": {"page_size": 100, "page_number": 1, "total_count": 1},
    "data": {"version": "1.0.0", "reg_records": [{"@type": "spdci:Group", "group_type": "2", "group_size": 3,
                                                   "group_head_info": PERSON, "member_list": [PERSON] * 3,
                                                   "additional_attributes": [{"name": "poverty_status",
                                                                              "value": "poor"}] * 11}]}}]}
REQUEST = {"transaction_id": "T-1", "search_request": [{
    "reference_id": "R-1", "timestamp": "2026-12-06T09:00:00+07:00",
    "search_criteria": {"query_type": "idtype-value", "query": {"type": "NationalID", "value": "024088001234"}}}]}


def per_message(run: Callable[[], Any], messages: int) -> float:
    """CPU microseconds per call (process time: other work on the machine is not counted)."""
    run()
    started = time.process_time()
    for _ in range(messages):
        run()
    return (time.process_time() - started) / messages * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    signing = {**orjson.loads(OKPAlgorithm.to_jwk(Ed25519PrivateKey.generate())), "kid": "sig"}
    baseline = per_message(lambda: signatures.sign(HEADER, ANSWER, signing), args.messages)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; answer "
          f"{len(orjson.dumps(ANSWER))} bytes, request {len(orjson.dumps(REQUEST))} bytes, CPU per message")
    print(f"  baseline: sign the answer (Ed25519 JWS)            {baseline:8.0f} µs")
    for name, private in (("EC P-256, ECDH-ES+A256KW", jwk.JWK.generate(kty="EC", crv="P-256", kid="k")),
                          ("RSA-2048, RSA-OAEP-256", jwk.JWK.generate(kty="RSA", size=2048, kid="k"))):
        public = {**json.loads(private.export_public()), "use": "enc"}
        decrypter = encryption.Decrypter(private.export_private())
        envelope: dict[str, Any] = {"header": HEADER, "message": ANSWER}
        request = encryption.encrypt(REQUEST, decrypter.public_jwk)
        sealed = per_message(functools.partial(encryption.sealed_for, envelope, [public]), args.messages)
        opened = per_message(functools.partial(decrypter.open, request), args.messages)
        print(f"  {name:<26} encrypt the answer {sealed:8.0f} µs ({sealed / baseline:4.1f}× signing)   "
              f"open a request {opened:8.0f} µs ({opened / baseline:4.1f}× signing)")


if __name__ == "__main__":
    main()
