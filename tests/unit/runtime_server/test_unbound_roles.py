"""Role templates that name a variable which is no path parameter (DPS disseminations).

`POST /v1/disseminations` needs `{contractId}_R` of the contract that owns the package behind the
body's `archiveId` (FACTS §2, A-DPS-029): the route cannot fill `{contractId}`. It must not crash
(it used to raise ValueError, answered 500): it checks that the token holds some `*_R` role and
leaves the exact contract to the handler, which calls `auth.require_roles(contractId=...)`.
These run the generated DPS server with a two-operation handler.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import httpx
import pytest

from kontrakt.generated.dps_v1 import (
    CreateDisseminationRequest,
    Dissemination,
    Handlers,
    create_app,
)
from kontrakt.runtime.server import (
    ApiProblem,
    AuthContext,
    BearerScheme,
    JwksCache,
    JwtVerifier,
    RoleRequirement,
)
from tests.unit.runtime_server.helpers import DPS_ISSUER, Keys, token

AUDIENCE = "dps-submission"
# archiveId -> the contract that owns it (what a provider looks up).
OWNERS = {"archive-of-a1f3": "a1f3"}
DISSEMINATION_ID = "A3DdvHyrNktBXtnjfObINf"


class Disseminations:
    async def create_dissemination(
        self, *, body: CreateDisseminationRequest, auth: AuthContext
    ) -> Dissemination:
        owner = OWNERS.get(body.archive_id)
        if owner is None:
            raise ApiProblem.from_trigger("not-found", "No such archiveId.")
        auth.require_roles(contractId=owner)
        return Dissemination.model_validate(
            {
                "disseminationId": DISSEMINATION_ID,
                "archiveId": body.archive_id,
                "contractId": owner,
                "status": "RECEIVED",
            }
        )

    async def get_dissemination(self, *, dissemination_id: str, auth: AuthContext) -> Any:
        raise AssertionError("not called")


def app(keys: Keys) -> Any:
    verifier = JwtVerifier(JwksCache(jwks=keys.jwks()), DPS_ISSUER, AUDIENCE)
    return create_app(cast(Handlers, Disseminations()), {"oauth2": BearerScheme(verifier)})


def post(keys: Keys, roles: list[str], archive_id: str = "archive-of-a1f3") -> httpx.Response:
    bearer = token(keys, iss=DPS_ISSUER, aud=AUDIENCE, scope=None, realm_access={"roles": roles})

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app(keys))
        async with httpx.AsyncClient(transport=transport, base_url="http://dps.test") as client:
            return await client.post(
                "/v1/disseminations",
                json={"archiveId": archive_id},
                headers={"Authorization": f"Bearer {bearer}"},
            )

    return asyncio.run(go())


FORBIDDEN = {
    "error": {
        "code": "FORBIDDEN",
        "message": "The access token holds no role that permits this operation.",
    }
}


@pytest.mark.parametrize(
    ("roles", "status"),
    [
        (["a1f3_R"], 201),  # the owner's read role
        (["b2c4_R", "a1f3_R"], 201),
        (["b2c4_R"], 403),  # a read role, of another contract: refused by the handler
        (["a1f3_W"], 403),  # no *_R at all: refused by the route (A-DPS-029: _W is not enough)
        ([], 403),
    ],
)
def test_unbound_template_is_checked_by_shape_then_by_the_handler(
    keys: Keys, roles: list[str], status: int
) -> None:
    response = post(keys, roles)
    assert response.status_code == status, response.text
    if status == 403:
        assert response.json() == FORBIDDEN
    else:
        assert response.json()["contractId"] == "a1f3"


def test_route_refuses_before_the_handler_when_no_role_has_the_shape(keys: Keys) -> None:
    # The archiveId is unknown (the handler would answer 404), but the route refuses first.
    assert post(keys, ["a1f3_W"], archive_id="unknown").status_code == 403
    assert post(keys, ["b2c4_R"], archive_id="unknown").status_code == 404


def test_role_requirement_shapes() -> None:
    read = RoleRequirement(("{contractId}_R",), claim="realm_access.roles")
    claims = {"realm_access": {"roles": ["a1f3_R", "x_W"]}}
    assert read.unbound({}) == ("contractId",)
    assert read.unbound({"contractId": "a1f3"}) == ()
    assert read.satisfied_by(claims, {})  # some *_R
    assert read.satisfied_by(claims, {"contractId": "a1f3"})
    assert not read.satisfied_by(claims, {"contractId": "b2c4"})
    assert not read.satisfied_by({"realm_access": {"roles": ["_R", "x_W"]}}, {})  # empty value
    assert read.held_by(claims, {"contractId": "a1f3"})
    assert not read.held_by(claims, {"contractId": "b2c4"})
    with pytest.raises(ValueError, match="contractId"):
        read.held_by(claims, {})
    # Literal parts of a template are matched literally, not as regular expressions.
    dotted = RoleRequirement(("{org}.admin",))
    assert not dotted.satisfied_by({"roles": ["acme-admin"]}, {})
    assert dotted.satisfied_by({"roles": ["acme.admin"]}, {})


def test_auth_context_require_roles() -> None:
    read = RoleRequirement(("{contractId}_R", "{contractId}_W"), claim="realm_access.roles")
    context = AuthContext(
        ("oauth2",),
        {"realm_access": {"roles": ["a1f3_W"]}},
        roles=read,
        path_params={"contractId": "a1f3"},
    )
    context.require_roles()  # bound by the path
    assert context.has_roles(contractId="a1f3")
    with pytest.raises(ApiProblem) as refused:
        context.require_roles(contractId="b2c4")  # an explicit value wins over the path
    assert refused.value.trigger == "forbidden"
    AuthContext().require_roles()  # no roles declared: nothing to require
