"""The verified-token cache never accepts what a full verification would refuse."""

from __future__ import annotations

import time

import pytest

from services.kit import auth
from services.kit.auth import decode_token, issue_token
from services.kit.errors import Unauthenticated


def test_a_cached_token_still_expires_and_keeps_its_type_check(monkeypatch):
    token, claims = issue_token("u1", typ="access", tenant="acme", role="member", ttl=60)
    assert decode_token(token) == claims
    assert decode_token(token) == claims  # from the cache, same claims
    decode_token(token)["sub"] = "mutated"  # callers get copies
    assert decode_token(token)["sub"] == "u1"
    with pytest.raises(Unauthenticated):
        decode_token(token, expected_typ="refresh")
    later = time.time() + 61
    monkeypatch.setattr(auth.time, "time", lambda: later)
    with pytest.raises(Unauthenticated) as err:
        decode_token(token)
    assert err.value.code == "token_expired"


def test_a_tampered_token_is_verified_not_served_from_the_cache():
    token, _ = issue_token("u2", typ="access", tenant="acme", role="member", ttl=60)
    decode_token(token)
    head, body, sig = token.split(".")
    forged = ".".join((head, body, sig[:-2] + ("AA" if not sig.endswith("AA") else "BB")))
    with pytest.raises(Unauthenticated):
        decode_token(forged)
