"""DSOP Control API v2.0 reference provider: a sandbox bank for the conformance suite.

A known-good implementation of every rule in the spec's `x-kontrakt-rules` that can be tested
from outside, on the generated server stub `kontrakt/generated/dsop_control_v2`. Its pieces are exposed so
that a test can wrap or subclass them into a known-bad twin:

- `DsopBank` (handlers.py): the five handlers, one overridable method per rule;
- `build_bank(context, ...)` / `build_app(handlers, context, ...)` (app.py): the seeded bank, and
  the served ASGI app over any `Handlers` implementation;
- `create_app(context, **options)`: what `kontrakt serve dsop-control` starts;
- `sign_extradition_order` / `order_claims` (extradition.py): TEST Politi extradition orders;
- `ServiceCatalogue` (services.py): the spec's `x-kontrakt-services`;
- `BankData`, `account_reference` (data.py): the fixture `kontrakt/sandbox/fixtures/dsop.yaml` in SQLite.
"""

from kontrakt.sandbox.dsop_control.app import (
    CONTENT_ENCRYPTION,
    KEY_ENCRYPTION,
    build_app,
    build_bank,
    create_app,
    jwe_encoder,
)
from kontrakt.sandbox.dsop_control.data import FIXTURE, BankData, Fixture, account_reference
from kontrakt.sandbox.dsop_control.extradition import (
    ExtraditionOrder,
    OrderError,
    OrderVerifier,
    order_claims,
    sign_extradition_order,
)
from kontrakt.sandbox.dsop_control.handlers import DsopBank, RateLimiter, mask_card_number
from kontrakt.sandbox.dsop_control.services import ServiceCatalogue

__all__ = [
    "CONTENT_ENCRYPTION",
    "FIXTURE",
    "KEY_ENCRYPTION",
    "BankData",
    "DsopBank",
    "ExtraditionOrder",
    "Fixture",
    "OrderError",
    "OrderVerifier",
    "RateLimiter",
    "ServiceCatalogue",
    "account_reference",
    "build_app",
    "build_bank",
    "create_app",
    "jwe_encoder",
    "mask_card_number",
    "order_claims",
    "sign_extradition_order",
]
