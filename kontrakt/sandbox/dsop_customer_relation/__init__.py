"""DSOP Customer Relation Overview v2.0 reference provider: the sandbox's Bits register.

A stand-in for Bits' KAR/KFR-backed Kundeforhold API on the generated stub
`kontrakt/generated/dsop_customer_relation_v2`: which banks a customer has a relationship with
(`customerRelationships`) and which bank services an account (`accountServicingProvider`). Its
banks are the DSOP Control sandbox banks (`dsop.yaml`, `dsop-bank2.yaml`) plus a KFR bank, read
from `kontrakt/sandbox/fixtures/dsop-register.yaml`.
"""

from kontrakt.sandbox.dsop_customer_relation.app import (
    NAME,
    build_app,
    build_register,
    create_app,
)
from kontrakt.sandbox.dsop_customer_relation.handlers import KundeforholdRegister
from kontrakt.sandbox.dsop_customer_relation.register import REGISTER, BankEntry, Register

__all__ = [
    "NAME",
    "REGISTER",
    "BankEntry",
    "KundeforholdRegister",
    "Register",
    "build_app",
    "build_register",
    "create_app",
]
