"""The DPS sandbox's webhook signing and retry schedule, against the Standard Webhooks vector."""

from __future__ import annotations

import pytest

from kontrakt.sandbox.dps.webhooks import RetryPolicy, new_secret, secret_key, sign


def test_signature_matches_the_standard_webhooks_reference_vector() -> None:
    # The example of the Standard Webhooks specification (symmetric signature scheme).
    signature = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@pytest.mark.parametrize("secret", ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_!!", "whsec_AAAA"])
def test_secrets_must_be_whsec_base64_with_enough_key(secret: str) -> None:
    with pytest.raises(ValueError):
        secret_key(secret)


def test_new_secrets_decode_to_32_bytes() -> None:
    assert len(secret_key(new_secret())) == 32
    assert new_secret() != new_secret()


def test_default_schedule_doubles_from_30_s_and_stays_within_5_days() -> None:
    policy = RetryPolicy()
    waits = [policy.delay(n) for n in range(1, policy.max_attempts)]
    # DPS-WH-RETRY-SCHEDULE: 30 s, 1 min, 2 min, ... 16 h, then daily.
    assert waits[:4] == [30.0, 60.0, 120.0, 240.0]
    assert waits[11] == 61440.0 and waits[12:] == [86400.0] * 3
    assert sum(waits) <= 5 * 86400


@pytest.mark.parametrize(
    ("status", "again"),
    [
        *[(status, True) for status in (None, 500, 503, 408, 429, 302)],
        *[(status, False) for status in (400, 401, 404, 410)],
    ],
)
def test_what_is_retried(status: int | None, again: bool) -> None:
    # A-DPS-024: 5xx, timeouts, connection errors, 408 and 429 again; other 4xx are permanent.
    assert RetryPolicy.retryable(status) is again
