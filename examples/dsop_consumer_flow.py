"""The DSOP data consumer's whole flow on kontrakt's generated clients, as a runnable example.

1. Get a Maskinporten-style token (client credentials) from the token issuer.
2. Ask Customer Relation Overview v2.0 which banks a party had a relationship with in a period.
3. Resolve each bank's base URL in a catalogue file (standing in for Digdir's API catalogue).
4. At each bank (DSOP Control v2.0): list the party's accounts, then every account's
   transactions, following the `next` links; handle each bank's errors by its ACC code.

Run it against `kontrakt serve all` (which writes the catalogue and prints the issuer's URL):

    kontrakt serve all --catalogue /tmp/dsop-banks.json &
    python examples/dsop_consumer_flow.py --catalogue /tmp/dsop-banks.json \\
        --token-url http://127.0.0.1:8000/token

or let it start the sandbox in-process: `python examples/dsop_consumer_flow.py --sandbox`.
No hand-written HTTP: every request goes through `kontrakt.generated.*.Client`.
Exit status: 0 when the flow ran (bank errors are part of the output), 1 when the register
refused, 2 on bad input.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from kontrakt.generated.dsop_control_v2 import Client as BankClient
from kontrakt.generated.dsop_customer_relation_v2 import Client as RegisterClient
from kontrakt.runtime.client import ApiError, ClientCredentials

# The Skatt-Kontroll service (FACTS §6): its client in the sandbox holds all three DSOP scopes.
CLIENT = ("skatt-kontroll-test", "sandbox-skatt-secret")
MANDATE = (
    "Skatteforvaltningsloven § 10-2 første ledd, jf. § 10-14, jf. "
    "skatteforvaltningsforskriften § 10-2-1"
)
REQUESTER = "saksbehandler-0001"  # Skatt-Kontroll requires a RequesterID
PARTIES = ("12858510048", "25928810057")  # Kari (two banks and a KFR bank), Frida (faults)

# What the consumer does on each ACC code (DSOP Control v2.0 error matrix).
ON_ERROR = {
    "ACC-001": "request rejected as invalid; fix the request",
    "ACC-002": "not found; skip",
    "ACC-003": "not found; skip",
    "ACC-010": "token refused; get a new token",
    "ACC-011": "not authorised for this service; skip the bank",
    "ACC-012": "method not allowed",
    "ACC-013": "representation not acceptable",
    "ACC-022": "rate limited; retry later",
    "ACC-100": "bank back end unavailable; retry later",
    "ACC-500": "bank internal error; retry later",
}


@dataclass
class Tally:
    """What the flow saw, for the summary line (the test reads it)."""

    banks_named: int = 0
    banks_queried: int = 0
    unresolved: int = 0
    accounts: int = 0
    transactions: int = 0
    pages: int = 0
    errors: Counter[str] = field(default_factory=Counter)


def _text(value: Any) -> str:
    """The plain value of a generated model field (a RootModel, an enum or a string)."""
    value = getattr(value, "root", value)
    return str(getattr(value, "value", value))


def flow(
    catalogue: dict[str, Any],
    token_url: str,
    party: str,
    first: datetime.date,
    last: datetime.date,
    out: list[str],
    tally: Tally,
) -> None:
    """One party's flow; appends printable lines to `out`."""
    case = uuid.uuid4()  # AccountInfoRequestID: one per case, on every call
    mandate = quote(MANDATE, safe="")  # the header carries it URL-encoded
    register_url = str(catalogue["customerRelation"])
    auth = ClientCredentials(token_url, *CLIENT, scope="bits:kundeforhold", resource=register_url)
    with RegisterClient(register_url, auth=auth) as register:
        answer = register.get_customer_relation(
            customer_id=party,
            correlation_id=uuid.uuid4(),
            legal_mandate=mandate,
            account_info_request_id=case,
            from_date=first,
            to_date=last,
        )
    banks = sorted(answer.banks, key=lambda b: _text(b.organization_id))
    tally.banks_named += len(banks)
    out.append(f"party {party} {first}..{last}: the register names {len(banks)} bank(s)")
    for bank in banks:
        org, name = _text(bank.organization_id), _text(bank.bank_name)
        entry = catalogue["banks"].get(org)
        if entry is None:
            tally.unresolved += 1
            out.append(f"  bank {org} {name}: no DSOP Control endpoint in the catalogue, skipped")
            continue
        tally.banks_queried += 1
        _bank(entry["baseUrl"], token_url, org, name, party, case, mandate, first, last, out, tally)


def _bank(
    base_url: str,
    token_url: str,
    org: str,
    name: str,
    party: str,
    case: uuid.UUID,
    mandate: str,
    first: datetime.date,
    last: datetime.date,
    out: list[str],
    tally: Tally,
) -> None:
    auth = ClientCredentials(token_url, *CLIENT, scope="bits:kontoinformasjon", resource=base_url)
    common: dict[str, Any] = {
        "account_info_request_id": case,
        "legal_mandate": mandate,
        "requester_id": REQUESTER,
        "from_date": first,
        "to_date": last,
    }
    with BankClient(base_url, auth=auth) as bank:
        try:
            pages = list(
                bank.iter_list_accounts(
                    correlation_id=uuid.uuid4(), party_id=party, only_primary_owner=False, **common
                )
            )
        except ApiError as exc:
            out.append(f"  bank {org} {name}: accounts refused: {_handled(exc, tally)}")
            return
        accounts = [a for page in pages for a in page.accounts or ()]
        tally.accounts += len(accounts)
        tally.pages += len(pages)
        out.append(f"  bank {org} {name}: {len(accounts)} account(s) in {len(pages)} page(s)")
        for account in sorted(accounts, key=lambda a: _text(a.account_identifier)):
            number = _text(account.account_identifier)
            try:
                count, page_count = 0, 0
                for page in bank.iter_list_transactions(
                    account_reference=_text(account.account_reference),
                    correlation_id=uuid.uuid4(),
                    **common,
                ):
                    count += len(page.transactions or ())
                    page_count += 1
            except ApiError as exc:
                out.append(f"    account {number}: {_handled(exc, tally)}")
                continue
            tally.transactions += count
            tally.pages += page_count
            out.append(f"    account {number}: {count} transaction(s) in {page_count} page(s)")


def _handled(exc: ApiError, tally: Tally) -> str:
    code = str(exc.code) if exc.code is not None else f"HTTP {exc.status}"
    tally.errors[code] += 1
    return f"{code} -> {ON_ERROR.get(code, 'unexpected error; report it to the bank')}"


def run(catalogue_path: Path, token_url: str, days: int) -> list[str]:
    """The flow for every demo party; the printable lines, the summary last."""
    catalogue = json.loads(catalogue_path.read_text(encoding="utf-8"))
    last = datetime.date.today()
    first = last - datetime.timedelta(days=days)
    out: list[str] = []
    tally = Tally()
    for party in PARTIES:
        flow(catalogue, token_url, party, first, last, out, tally)
    errors = ",".join(f"{c}={n}" for c, n in sorted(tally.errors.items())) or "none"
    out.append(
        f"summary: banks named {tally.banks_named}, queried {tally.banks_queried},"
        f" unresolved {tally.unresolved}, accounts {tally.accounts},"
        f" transactions {tally.transactions}, pages {tally.pages}, errors {errors}"
    )
    return out


@contextlib.contextmanager
def _in_process(directory: Path) -> Iterator[tuple[Path, str]]:
    from kontrakt.sandbox.launch import Sandbox

    names = ["dsop-customer-relation", "dsop-control", "dsop-control-2"]
    with Sandbox.start(names) as sandbox:
        yield sandbox.write_bank_catalogue(directory / "dsop-banks.json"), sandbox.token_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--catalogue", type=Path, help="the bank catalogue kontrakt serve wrote")
    parser.add_argument("--token-url", help="the token issuer's token endpoint")
    parser.add_argument("--sandbox", action="store_true", help="start the sandbox in-process")
    parser.add_argument("--days", type=int, default=365, help="how far back the period reaches")
    args = parser.parse_args(argv)
    try:
        if args.sandbox:
            import tempfile

            with tempfile.TemporaryDirectory() as tmp, _in_process(Path(tmp)) as (path, url):
                lines = run(path, url, args.days)
        elif args.catalogue and args.token_url:
            lines = run(args.catalogue, args.token_url, args.days)
        else:
            print(
                "dsop_consumer_flow: give --sandbox, or --catalogue and --token-url",
                file=sys.stderr,
            )
            return 2
    except ApiError as exc:  # the register itself refused: nothing to do at the banks
        print(f"dsop_consumer_flow: the register refused: {exc}", file=sys.stderr)
        return 1
    except (OSError, ValueError, KeyError) as exc:
        print(f"dsop_consumer_flow: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
