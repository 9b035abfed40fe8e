"""Naming: examples of every rule, and properties (valid, deterministic, collision-free names)."""

from __future__ import annotations

import keyword
from pathlib import PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kontrakt.generator.naming import (
    derived_operation_id,
    is_valid_identifier,
    operation_name,
    package_name,
    pascal_name,
    snake_name,
    unique,
)

SETTINGS = settings(max_examples=200, deadline=None, database=None)
# Text as found in documents: any letters (Norwegian and others), digits, punctuation, spaces.
TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",))
    | st.sampled_from("æøåÆØÅ-/_ .{}"),
    max_size=40,
)


@pytest.mark.parametrize(
    ("operation_id", "expected"),
    [
        ("listAccounts", "list_accounts"),
        ("showAccountById", "show_account_by_id"),
        ("meta/root", "meta_root"),
        ("find pet by id", "find_pet_by_id"),
        ("getHTTPResponse", "get_http_response"),
        ("hentKontoØkonomi", "hent_konto_oekonomi"),
        ("v2Accounts", "v2_accounts"),
        ("class", "class_"),
        ("2fa-check", "op_2fa_check"),
        ("", "operation"),
        ("ÆØÅ", "aeoeaa"),
    ],
)
def test_operation_names(operation_id: str, expected: str) -> None:
    assert operation_name(operation_id) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Legal-Mandate", "legal_mandate"),
        ("AccountInfoRequestID", "account_info_request_id"),
        ("X-Request-ID", "x_request_id"),
        ("fromDate", "from_date"),
        ("from", "from_"),
        ("beløp", "beloep"),
        ("ØKONOMI", "oekonomi"),
        ("$filter", "filter"),
        ("self", "self_"),
    ],
)
def test_parameter_names(name: str, expected: str) -> None:
    assert snake_name(name, fallback="param", prefix="p_", reserved=("self", "body")) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("find pet by id", "FindPetById"),
        ("Størrelse", "Stoerrelse"),
        ("ISODate", "ISODate"),
        ("true", "True_"),
        ("404", "N404"),
    ],
)
def test_class_names(text: str, expected: str) -> None:
    assert pascal_name(text) == expected


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("get", "/accreditations", "getAccreditations"),
        (
            "get",
            "/evidence/{accreditationId}/{evidenceCode}",
            "getEvidenceByAccreditationIdByEvidenceCode",
        ),
        ("delete", "/evidence/{accreditationId}", "deleteEvidenceByAccreditationId"),
        ("get", "/metadata/errorcodes/", "getMetadataErrorcodes"),
        ("get", "/", "getRoot"),
        ("post", "/søknader", "postSoeknader"),
    ],
)
def test_derived_operation_ids(method: str, path: str, expected: str) -> None:
    assert derived_operation_id(method, path) == expected


@pytest.mark.parametrize(
    ("api_id", "path", "expected"),
    [
        ("dsop-control/v2.0", None, "dsop_control_v2"),
        ("dsop-control/v1.1.1", None, "dsop_control_v1_1_1"),
        ("dps/v1", None, "dps_v1"),
        ("sdir-additional-competence/v2", None, "sdir_additional_competence_v2"),
        ("x/v1.10", None, "x_v1_10"),
        ("x/v2.0.0", None, "x_v2"),
        (None, "specs/dan/v1/openapi.yaml", "dan_v1"),
        (None, "../shared/reference/dsop/dsop-control-api-v2.0.0.yaml", "dsop_control_api_v2"),
        (None, "kundeforhold-kar-api-v1.1.2.yaml", "kundeforhold_kar_api_v1_1_2"),
        (None, "petstore-expanded.yaml", "petstore_expanded"),
        (None, "2018-draft.json", "api_2018_draft"),
        (None, "Søknad/v1.0/openapi.json", "soeknad_v1"),
        (None, None, "api"),
    ],
)
def test_package_names(api_id: str | None, path: str | None, expected: str) -> None:
    assert package_name(api_id, PurePosixPath(path) if path else None) == expected


@SETTINGS
@given(TEXT)
def test_snake_names_are_ascii_identifiers_and_deterministic(text: str) -> None:
    name = snake_name(text)
    assert is_valid_identifier(name), name
    assert name == name.lower()
    assert name == snake_name(text)


@SETTINGS
@given(TEXT)
def test_class_and_operation_names_are_valid(text: str) -> None:
    for name in (pascal_name(text), operation_name(text)):
        assert is_valid_identifier(name), name
    assert pascal_name(text)[0].isupper()


@SETTINGS
@given(st.sampled_from(["get", "post", "put", "delete", "patch"]), TEXT)
def test_derived_operation_ids_are_identifiers(method: str, path: str) -> None:
    derived = derived_operation_id(method, path)
    assert is_valid_identifier(derived)
    assert derived.startswith(method)
    assert is_valid_identifier(operation_name(derived))


@SETTINGS
@given(st.one_of(st.none(), TEXT), st.one_of(st.none(), TEXT))
def test_package_names_are_lower_case_identifiers(api_id: str | None, path: str | None) -> None:
    name = package_name(api_id, PurePosixPath(path) if path else None)
    assert is_valid_identifier(name), name
    assert name == name.lower()
    assert not keyword.iskeyword(name)


@SETTINGS
@given(st.lists(st.sampled_from(["a", "a_2", "b", "get_file", "getFile", "x"]) | TEXT, max_size=12))
def test_unique_names_are_distinct_and_stable(texts: list[str]) -> None:
    wanted = [snake_name(t) for t in texts]
    names = unique(wanted)
    assert len(names) == len(wanted)
    assert len(set(names)) == len(names)
    assert all(is_valid_identifier(n) for n in names)
    # The first occurrence of a name keeps it; adding names later never renames earlier ones.
    for index, (want, got) in enumerate(zip(wanted, names, strict=True)):
        if want not in wanted[:index] and want not in names[:index]:
            assert got == want
    assert unique([*wanted, "extra"])[: len(names)] == names
