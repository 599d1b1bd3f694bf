"""The ServiceDesk Plus MSP emulator behaves like SDP MSP's REST API v3 as
shared/api/targets.md §1 describes it, awkward parts included. Every call goes through the
in-process transport."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from integrate import FakeClock, Faults
from integrate_servicedesk_msp.emulator import ServiceDeskMspEmulator
from tests.plugins.servicedesk_msp.emulator_kit import START, V3, Sdp, failed, refusal

OK = {"status_code": 2000, "status": "success"}
ID = re.compile(r"^\d{18}$")


@pytest.fixture
def sdp() -> Sdp:
    return Sdp()


@pytest.fixture
def acme(sdp: Sdp) -> dict[str, Any]:
    return sdp.made("accounts", "account", {"name": "Acme Corp", "default_site": {"name": "HQ"}})


def requester(owner: dict[str, Any], /, **values: Any) -> dict[str, Any]:
    """A requester of an account (created over the API), with `values` on top."""
    return {"name": "Jane Doe", "account": {"id": owner["id"]}} | values


# ---- the envelope (§1.6) ---------------------------------------------------------------


def test_list_calls_answer_response_status_as_a_list_single_calls_as_an_object(
    sdp: Sdp, acme: dict[str, Any]
) -> None:
    listed = sdp.get_all("accounts", row_count=10)
    assert listed.status_code == 200
    body = listed.json()
    assert body["response_status"] == [OK]
    assert body["list_info"] == {"has_more_rows": False, "start_index": 1, "row_count": 1}
    assert [a["name"] for a in body["accounts"]] == ["Acme Corp"]
    one = sdp.get("accounts", acme["id"]).json()
    assert one["response_status"] == OK
    assert one["account"]["id"] == acme["id"]
    assert ID.match(acme["id"])


def test_row_count_over_100_is_refused_inside_http_200(sdp: Sdp) -> None:  # §1.5, §1.9.3
    answer = sdp.get_all("requesters", row_count=101)
    assert answer.status_code == 200
    assert answer.json() == failed(4000, "row_count cannot be more than 100", field="row_count")
    assert sdp.get_all("requesters", row_count=100).json()["response_status"] == [OK]


def test_list_info_on_a_single_record_call_is_refused(sdp: Sdp, acme: dict[str, Any]) -> None:
    params = {"input_data": json.dumps({"list_info": {"row_count": 1}})}
    answer = sdp.get("accounts", acme["id"], params=params)
    assert answer.status_code == 200
    assert answer.json() == failed(
        4000, "list_info is only valid on get all calls", field="list_info"
    )


def test_an_unknown_lookup_name_is_a_failed_status_inside_http_200(
    sdp: Sdp, acme: dict[str, Any]
) -> None:
    answer = sdp.create("requesters", "requester", requester(acme, site={"name": "Nowhere"}))
    assert answer.status_code == 200
    assert answer.json() == failed(
        4001, "site: 'Nowhere' does not exist or is not in use", field="site"
    )
    assert sdp.emulator.records("requesters") == []


def test_a_missing_mandatory_field_is_4012_with_the_fields(sdp: Sdp) -> None:
    answer = sdp.create("requesters", "requester", {"email_id": "a@b.example"})
    assert answer.status_code == 200
    assert answer.json() == failed(
        4012, "Value for mandatory-field is not provided", fields=["account", "name"]
    )
    assert refusal(sdp.create("accounts", "account", {"city": "Leeds"}))[2]["fields"] == ["name"]


def test_instance_mandatory_fields_are_4012_too() -> None:  # §1.9.8
    sdp = Sdp(mandatory_fields={"requesters": ["phone", "department"]})
    account = sdp.made("accounts", "account", {"name": "Acme"})
    answer = sdp.create("requesters", "requester", requester(account))
    assert refusal(answer)[1:] == (
        4012,
        {
            "status_code": 4012,
            "type": "failed",
            "message": "Value for mandatory-field is not provided",
            "fields": ["department", "phone"],
        },
    )


def test_the_write_must_be_wrapped_in_its_entity_key(sdp: Sdp) -> None:
    answer = sdp.create("accounts", "customer", {"name": "Acme"})
    assert refusal(answer) == (
        200,
        4012,
        {
            "status_code": 4012,
            "type": "failed",
            "message": "Value for mandatory-field is not provided",
            "fields": ["account"],
        },
    )
    garbage = sdp.call("POST", "/accounts", data={"input_data": "{not json"})
    assert refusal(garbage)[:2] == (200, 4000)
    as_json = sdp.call("POST", "/accounts", json={"account": {"name": "Acme"}})
    assert refusal(as_json)[2]["fields"] == ["input_data"]


def test_unknown_read_only_and_mistyped_fields_are_refused(sdp: Sdp, acme: dict[str, Any]) -> None:
    assert refusal(sdp.create("accounts", "account", {"name": "X", "colour": "red"}))[1:] == (
        4000,
        {
            "status_code": 4000,
            "type": "failed",
            "message": "colour is not a field of accounts",
            "field": "colour",
        },
    )
    assert refusal(sdp.update("accounts", "account", acme["id"], {"id": "1"}))[1] == 4014
    assert refusal(sdp.create("accounts", "account", {"name": 42}))[1] == 4021
    plain_site = requester(acme, site="HQ")
    assert refusal(sdp.create("requesters", "requester", plain_site))[1] == 4021


# ---- authentication and headers (§1.3) -------------------------------------------------


def test_no_key_or_an_unknown_key_is_401_4022(sdp: Sdp) -> None:
    headers = {"Accept": V3}
    missing = sdp.http.get("/api/v3/requesters", headers=headers)
    assert missing.status_code == 401
    assert missing.json() == failed(4022, "Invalid API key received")
    wrong = sdp.http.get("/api/v3/requesters", headers={**headers, "authtoken": "ABC"})
    assert wrong.status_code == 401
    key = sdp.emulator.technician_key
    legacy = sdp.http.get("/api/v3/requesters", headers={**headers, "TECHNICIAN_KEY": key})
    assert legacy.status_code == 200
    param = sdp.http.get("/api/v3/requesters", headers=headers, params={"TECHNICIAN_KEY": key})
    assert param.status_code == 200


def test_the_v3_accept_header_is_required(sdp: Sdp) -> None:
    assert sdp.call("GET", "/accounts", headers={"Accept": "application/v3+json"}).is_success
    for accept in ("*/*", "application/json"):
        answer = sdp.call("GET", "/accounts", headers={"Accept": accept})
        assert refusal(answer)[:2] == (404, 4007)


def test_unknown_modules_ids_and_methods_are_404_4007(sdp: Sdp, acme: dict[str, Any]) -> None:
    assert refusal(sdp.call("GET", "/tickets"))[:2] == (404, 4007)
    assert refusal(sdp.get("accounts", "100000000000099999"))[:2] == (404, 4007)
    assert refusal(sdp.get("sites", acme["id"]))[:2] == (404, 4007)
    assert refusal(sdp.call("PUT", "/accounts"))[:2] == (404, 4007)
    assert refusal(sdp.call("GET", f"/accounts/{acme['id']}/notes"))[:2] == (404, 4007)
    assert sdp.emulator.calls()["other"] == 3


# ---- the MSP hierarchy (§1.7) ----------------------------------------------------------


def test_an_account_comes_with_its_default_site_and_a_general_department(
    sdp: Sdp, acme: dict[str, Any]
) -> None:
    site = acme["default_site"]
    assert site["name"] == "HQ"
    [listed] = sdp.rows("sites")
    assert listed["id"] == site["id"]
    assert listed["account"] == {"id": acme["id"], "name": "Acme Corp"}
    [general] = sdp.rows("departments")
    assert (general["name"], general["site"]) == ("General", site)
    named = sdp.made("accounts", "account", {"name": "Globex"})
    assert named["default_site"]["name"] == "Globex Base Site"  # ASSUMED naming


def test_every_new_site_gets_a_general_department(sdp: Sdp, acme: dict[str, Any]) -> None:
    site = sdp.made("sites", "site", {"name": "Leeds", "account": {"name": "Acme Corp"}})
    departments = sdp.rows(
        "departments", search_criteria={"field": "site.id", "condition": "is", "value": site["id"]}
    )
    assert [d["name"] for d in departments] == ["General"]
    again = sdp.create("sites", "site", {"name": "Leeds", "account": {"id": acme["id"]}})
    assert refusal(again)[1] == 4008


def test_a_requester_without_site_or_department_lands_in_the_default_site_general(
    sdp: Sdp, acme: dict[str, Any]
) -> None:
    jane = sdp.made("requesters", "requester", requester(acme))
    site = acme["default_site"]
    assert jane["site"] == site
    assert jane["department"]["name"] == "General"
    assert jane["department"]["site"] == site
    assert jane["account"] == {"id": acme["id"], "name": "Acme Corp"}


def test_a_requester_without_department_lands_in_general_of_its_site(
    sdp: Sdp, acme: dict[str, Any]
) -> None:
    leeds = sdp.made("sites", "site", {"name": "Leeds", "account": {"id": acme["id"]}})
    raj = sdp.made("requesters", "requester", requester(acme, site={"name": "Leeds"}))
    assert raj["site"] == {"id": leeds["id"], "name": "Leeds"}
    assert raj["department"] == {
        "id": raj["department"]["id"],
        "name": "General",
        "site": {"id": leeds["id"], "name": "Leeds"},
    }


def test_a_site_by_name_is_looked_up_within_the_requesters_account(
    sdp: Sdp, acme: dict[str, Any]
) -> None:
    globex = sdp.made("accounts", "account", {"name": "Globex", "default_site": {"name": "HQ"}})
    jane = sdp.made("requesters", "requester", requester(globex, site={"name": "HQ"}))
    assert jane["site"]["id"] == globex["default_site"]["id"] != acme["default_site"]["id"]
    foreign = requester(acme, site={"id": globex["default_site"]["id"]})
    assert refusal(sdp.create("requesters", "requester", foreign))[1] == 4001


def test_lookup_id_wins_over_name(sdp: Sdp, acme: dict[str, Any]) -> None:
    globex = sdp.made("accounts", "account", {"name": "Globex"})
    jane = sdp.made(
        "requesters",
        "requester",
        requester(acme, account={"id": globex["id"], "name": "Acme Corp"}),
    )
    assert jane["account"]["name"] == "Globex"


def test_a_department_by_name_is_looked_up_within_the_site() -> None:
    sdp = Sdp(deployment="cloud")
    acme = sdp.made("customers", "customer", {"name": "Acme"})
    site = acme["default_site"]
    it = sdp.made("departments", "department", {"name": "IT", "site": {"id": site["id"]}})
    jane = sdp.made(
        "requesters",
        "requester",
        {"name": "Jane", "customer": {"id": acme["id"]}, "department": {"name": "IT"}},
    )
    assert jane["department"] == {"id": it["id"], "name": "IT", "site": site}
    other = sdp.create(
        "requesters",
        "requester",
        {"name": "Raj", "customer": {"id": acme["id"]}, "department": {"name": "Sales"}},
    )
    assert refusal(other)[1] == 4001


def test_departments_cannot_be_written_on_premises(sdp: Sdp, acme: dict[str, Any]) -> None:
    site = {"id": acme["default_site"]["id"]}
    answer = sdp.create("departments", "department", {"name": "IT", "site": site})
    assert refusal(answer)[:2] == (404, 4007)
    [it] = sdp.emulator.seed("departments", [{"name": "IT", "site": site}])  # the UI can
    jane = sdp.made("requesters", "requester", requester(acme, department={"name": "IT"}))
    assert jane["department"]["id"] == it["id"]


# ---- requesters (§1.7.4) ----------------------------------------------------------------


def test_a_duplicate_email_is_refused_in_one_account_and_allowed_in_another(
    sdp: Sdp, acme: dict[str, Any]
) -> None:
    globex = sdp.made("accounts", "account", {"name": "Globex"})
    sdp.made("requesters", "requester", requester(acme, email_id="jane@example.com"))
    again = sdp.create("requesters", "requester", requester(acme, email_id="JANE@example.com"))
    assert again.status_code == 200
    assert refusal(again)[1:] == (
        4008,
        {
            "status_code": 4008,
            "type": "failed",
            "message": "email_id 'JANE@example.com' is already in use",
            "field": "email_id",
        },
    )
    elsewhere = sdp.made("requesters", "requester", requester(globex, email_id="jane@example.com"))
    assert elsewhere["account"]["id"] == globex["id"]
    assert len(sdp.emulator.records("requesters")) == 2


def test_is_vipuser_takes_booleans_and_strings_and_lists_booleans(
    sdp: Sdp, acme: dict[str, Any]
) -> None:
    vip = sdp.made("requesters", "requester", requester(acme, is_vipuser="true"))
    plain = sdp.made("requesters", "requester", requester(acme, name="Raj", is_vipuser=False))
    assert (vip["is_vipuser"], plain["is_vipuser"]) == (True, False)
    assert [r["is_vipuser"] for r in sdp.rows("requesters")] == [True, False]
    assert refusal(sdp.create("requesters", "requester", requester(acme, is_vipuser="yes")))[1] == (
        4021
    )


def test_job_title_is_echoed_in_the_spelling_received(sdp: Sdp, acme: dict[str, Any]) -> None:
    cloudy = sdp.made("requesters", "requester", requester(acme, job_title="CFO"))
    onprem = sdp.made("requesters", "requester", requester(acme, name="Raj", jobtitle="CEO"))
    silent = sdp.made("requesters", "requester", requester(acme, name="Ana"))
    assert (cloudy["job_title"], "jobtitle" in cloudy) == ("CFO", False)
    assert (onprem["jobtitle"], "job_title" in onprem) == ("CEO", False)
    assert (silent["jobtitle"], "job_title" in silent) == (None, False)  # on-premises spelling
    swapped = sdp.update("requesters", "requester", cloudy["id"], {"jobtitle": "COO"}).json()
    assert (swapped["requester"]["jobtitle"], "job_title" in swapped["requester"]) == ("COO", False)


def test_put_changes_only_the_fields_sent(sdp: Sdp, acme: dict[str, Any]) -> None:
    jane = sdp.made(
        "requesters",
        "requester",
        requester(
            acme,
            email_id="jane@acme.example",
            phone="+1 555 0100",
            user_udf_fields={"udf_char1": "a"},
        ),
    )
    sdp.clock.advance(60)
    answer = sdp.update(
        "requesters",
        "requester",
        jane["id"],
        {"mobile": "+1 555 0199", "user_udf_fields": {"udf_char2": "b"}},
    )
    after = answer.json()["requester"]
    assert after["mobile"] == "+1 555 0199"
    assert (after["phone"], after["email_id"]) == ("+1 555 0100", "jane@acme.example")
    assert after["user_udf_fields"] == {"udf_char1": "a", "udf_char2": "b"}
    assert after["created_time"] == jane["created_time"]
    assert after["last_updated_time"] == {
        "value": str(int((START + 60) * 1000)),
        "display_value": "Sep 21, 2026 02:14 PM",
    }


def test_moving_a_requester_to_another_account_moves_its_site_and_department(
    sdp: Sdp, acme: dict[str, Any]
) -> None:
    globex = sdp.made("accounts", "account", {"name": "Globex"})
    jane = sdp.made("requesters", "requester", requester(acme))
    moved = sdp.update("requesters", "requester", jane["id"], {"account": {"name": "Globex"}})
    after = moved.json()["requester"]
    assert after["site"] == globex["default_site"]
    assert (after["department"]["name"], after["department"]["site"]) == (
        "General",
        globex["default_site"],
    )


def test_users_is_the_on_premises_name_of_requesters(sdp: Sdp, acme: dict[str, Any]) -> None:
    jane = sdp.made("users", "user", requester(acme, jobtitle="CFO"))
    assert [r["id"] for r in sdp.rows("requesters")] == [jane["id"]]
    assert sdp.get("requesters", jane["id"]).json()["requester"]["name"] == "Jane Doe"
    assert sdp.emulator.calls_for("requesters")["create"] == 1
    cloud = Sdp(deployment="cloud")
    assert refusal(cloud.call("GET", "/users"))[:2] == (404, 4007)


def test_deleting_what_others_refer_to_is_refused(sdp: Sdp, acme: dict[str, Any]) -> None:
    jane = sdp.made("requesters", "requester", requester(acme))
    assert refusal(sdp.delete("accounts", acme["id"]))[:2] == (200, 4005)
    assert refusal(sdp.delete("sites", acme["default_site"]["id"]))[:2] == (200, 4005)
    assert sdp.delete("requesters", jane["id"]).json() == {"response_status": OK}
    assert sdp.delete("accounts", acme["id"]).json() == {"response_status": OK}
    assert sdp.emulator.records("sites") == []
    assert sdp.emulator.records("departments") == []
    assert refusal(sdp.delete("accounts", acme["id"]))[:2] == (404, 4007)


# ---- list_info: paging, search, sort (§1.5) -----------------------------------------------


def test_250_requesters_page_in_3_calls(sdp: Sdp, acme: dict[str, Any]) -> None:
    sdp.emulator.seed(
        "requesters",
        [requester(acme, name=f"Person {i}", email_id=f"p{i}@acme.example") for i in range(250)],
    )
    seen: list[str] = []
    start, pages = 1, []
    while True:
        body = sdp.get_all(
            "requesters", row_count=100, start_index=start, get_total_count=True
        ).json()
        info = body["list_info"]
        pages.append((info["start_index"], info["row_count"], info["has_more_rows"]))
        assert info["total_count"] == 250
        seen += [r["id"] for r in body["requesters"]]
        if not info["has_more_rows"]:
            break
        start += 100
    assert pages == [(1, 100, True), (101, 100, True), (201, 50, False)]
    assert len(set(seen)) == 250
    assert sdp.emulator.calls_for("requesters")["list"] == 3
    assert sdp.emulator.calls()["list:requesters"] == 3


def test_row_count_defaults_to_10_and_start_index_is_1_based(
    sdp: Sdp, acme: dict[str, Any]
) -> None:
    sdp.emulator.seed("requesters", [requester(acme, name=f"P{i:02d}") for i in range(12)])
    assert [r["name"] for r in sdp.rows("requesters")] == [f"P{i:02d}" for i in range(10)]
    assert [r["name"] for r in sdp.rows("requesters", start_index=11)] == ["P10", "P11"]
    assert refusal(sdp.get_all("requesters", start_index=0))[1] == 4000
    assert sdp.rows("requesters", start_index=50) == []


def test_search_by_email_ignores_case_and_dotted_fields_reach_into_lookups(
    sdp: Sdp, acme: dict[str, Any]
) -> None:
    globex = sdp.made("accounts", "account", {"name": "Globex", "default_site": {"name": "Main"}})
    sdp.made("requesters", "requester", requester(acme, email_id="Jane.Doe@Example.com"))
    sdp.made("requesters", "requester", requester(globex, email_id="jane.doe@example.com"))
    by_email = sdp.rows(
        "requesters",
        search_criteria=[{"field": "email_id", "condition": "is", "value": "JANE.DOE@example.COM"}],
    )
    assert len(by_email) == 2
    in_acme = sdp.rows(
        "requesters",
        search_criteria=[
            {"field": "email_id", "condition": "is", "value": "jane.doe@example.com"},
            {
                "field": "account.id",
                "condition": "is",
                "value": acme["id"],
                "logical_operator": "and",
            },
        ],
    )
    assert [r["account"]["name"] for r in in_acme] == ["Acme Corp"]
    by_site = sdp.rows(
        "requesters", search_criteria={"field": "site.name", "condition": "is", "value": "Main"}
    )
    assert [r["account"]["id"] for r in by_site] == [globex["id"]]
    by_department = sdp.rows(
        "requesters",
        search_criteria={"field": "department.name", "condition": "is", "value": "General"},
    )
    assert len(by_department) == 2
    assert sdp.rows("requesters", search_fields={"name": "jane doe"}) == []  # case counts


def test_search_conditions_operators_and_children(sdp: Sdp) -> None:
    sdp.emulator.seed(
        "accounts",
        [
            {"name": n, "city": c}
            for n, c in [("Acme", "Leeds"), ("Acorn", "York"), ("Zeta", "Leeds")]
        ],
    )

    def names(criteria: Any) -> list[str]:
        return [a["name"] for a in sdp.rows("accounts", search_criteria=criteria)]

    assert names({"field": "name", "condition": "starts_with", "value": "Ac"}) == ["Acme", "Acorn"]
    assert names({"field": "name", "condition": "ends with", "value": "ta"}) == ["Zeta"]
    assert names({"field": "name", "condition": "not contains", "value": "c"}) == ["Zeta"]
    assert names({"field": "name", "condition": "is not", "values": ["Acme", "Zeta"]}) == ["Acorn"]
    assert names({"field": "name", "condition": "between", "values": ["Acn", "Zz"]}) == [
        "Acorn",
        "Zeta",
    ]
    assert names(
        [
            {"field": "city", "condition": "is", "value": "York"},
            {"field": "name", "condition": "is", "value": "Zeta", "logical_operator": "or"},
        ]
    ) == ["Acorn", "Zeta"]
    assert names(
        {
            "field": "city",
            "condition": "is",
            "value": "Leeds",
            "children": [
                {"field": "name", "condition": "contains", "value": "cm", "logical_operator": "and"}
            ],
        }
    ) == ["Acme"]
    created = sdp.emulator.records("accounts")[0]["created_time"]["value"]
    later = {"field": "created_time", "condition": "greater than", "value": str(int(created) - 1)}
    assert len(names(later)) == 3
    unknown = sdp.get_all(
        "accounts", search_criteria={"field": "name", "condition": "like", "value": "A"}
    )
    assert refusal(unknown)[:2] == (200, 4000)
    no_field = sdp.get_all(
        "accounts", search_criteria={"field": "colour", "condition": "is", "value": "A"}
    )
    assert refusal(no_field)[:2] == (200, 4000)


def test_sort_fields_required_and_total_count(sdp: Sdp) -> None:
    sdp.emulator.seed("accounts", [{"name": n} for n in ("beta", "Alpha", "Gamma")])
    body = sdp.get_all(
        "accounts",
        sort_field="name",
        sort_order="desc",
        fields_required=["name"],
        get_total_count=True,
        row_count=2,
    ).json()
    assert body["accounts"] == [
        {"id": body["accounts"][0]["id"], "name": "Gamma"},
        {"id": body["accounts"][1]["id"], "name": "beta"},
    ]
    assert body["list_info"] == {
        "has_more_rows": True,
        "start_index": 1,
        "row_count": 2,
        "sort_field": "name",
        "sort_order": "desc",
        "total_count": 3,
    }


# ---- both path styles, both account names (§1.2, §1.7.1) ---------------------------------


def test_both_path_styles_and_both_account_names_share_one_store(sdp: Sdp) -> None:
    made = sdp.made("accounts", "account", {"name": "Acme"})
    cloud = "/app/itdesk/api/v3"
    as_customer = sdp.get("customers", made["id"], prefix=cloud).json()
    assert as_customer["customer"]["name"] == "Acme"
    listed = sdp.get_all("customers", prefix=cloud).json()
    assert [c["id"] for c in listed["customers"]] == [made["id"]]
    [site] = sdp.get_all("sites", prefix=cloud).json()["sites"]
    assert site["customer"] == {"id": made["id"], "name": "Acme"}
    assert "account" not in site
    [site] = sdp.rows("sites")
    assert site["account"] == {"id": made["id"], "name": "Acme"}
    sdp.create("customers", "customer", {"name": "Globex"}, prefix=cloud)
    assert [a["name"] for a in sdp.rows("accounts")] == ["Acme", "Globex"]
    wrong_key = sdp.create(
        "sites", "site", {"name": "S", "account": {"name": "Acme"}}, prefix=cloud
    )
    assert refusal(wrong_key)[2]["field"] == "account"
    other_portal = sdp.call("GET", "/accounts", prefix="/app/elsewhere/api/v3")
    assert refusal(other_portal)[:2] == (404, 4007)
    assert sdp.emulator.calls_for("accounts") == {
        "list": 3,
        "get": 1,
        "create": 2,
        "update": 0,
        "delete": 0,
    }


def test_accounts_module_fixes_the_owner_key() -> None:
    sdp = Sdp(accounts_module="customers")
    made = sdp.made("customers", "customer", {"name": "Acme"})
    jane = sdp.made("requesters", "requester", {"name": "Jane", "customer": {"id": made["id"]}})
    assert jane["customer"]["id"] == made["id"]
    assert "customer" in sdp.emulator.records("sites")[0]


# ---- the cloud: OAuth (§1.3) ---------------------------------------------------------------


def test_cloud_calls_need_a_live_zoho_oauth_token() -> None:
    sdp = Sdp(deployment="cloud")
    assert sdp.call("GET", "/customers").json()["response_status"] == [OK]
    bearer = sdp.call("GET", "/customers", headers={"Authorization": f"Bearer {sdp.token}"})
    assert refusal(bearer)[:2] == (401, 4022)
    key = sdp.call(
        "GET", "/customers", headers={"Authorization": "", "authtoken": sdp.emulator.technician_key}
    )
    assert refusal(key)[:2] == (401, 4022)
    sdp.clock.advance(3600)
    assert refusal(sdp.call("GET", "/customers"))[:2] == (401, 4022)
    sdp.token = sdp.refresh()["access_token"]
    assert sdp.call("GET", "/customers").status_code == 200
    sdp.emulator.expire_tokens()
    assert sdp.call("GET", "/customers").status_code == 401
    assert sdp.emulator.calls()["token"] == 2


def test_the_token_endpoint_answers_200_with_an_error_key() -> None:
    sdp = Sdp(deployment="cloud")
    body = sdp.refresh()
    assert set(body) == {"access_token", "expires_in", "api_domain", "token_type"}
    assert body["expires_in"] == 3600
    assert sdp.refresh(client_secret="nope") == {"error": "invalid_client"}
    assert sdp.refresh(refresh_token="1000.a.b") == {"error": "invalid_code"}
    for _ in range(8):  # 10 in 10 minutes, the kit's first included
        assert "access_token" in sdp.refresh()
    assert sdp.refresh()["error"] == "Access Denied"
    sdp.clock.advance(601)
    assert "access_token" in sdp.refresh()


def test_on_premises_has_no_accounts_server(sdp: Sdp) -> None:
    answer = sdp.http.post("https://accounts.zoho.com/oauth/v2/token", params={"grant_type": "x"})
    assert answer.status_code == 404


# ---- refusals before anything happens ------------------------------------------------------


def test_the_rate_limit_is_a_token_bucket_answering_429_4015() -> None:
    sdp = Sdp(rate_limit_per_minute=3)
    for _ in range(3):
        assert sdp.get_all("accounts").status_code == 200
    refused = sdp.create("accounts", "account", {"name": "Acme"})
    assert refused.status_code == 429
    assert refused.json() == failed(4015, "API rate limit reached")
    assert sdp.emulator.records("accounts") == []
    sdp.clock.advance(20)  # one more call's worth
    assert sdp.create("accounts", "account", {"name": "Acme"}).status_code == 200
    assert sdp.get_all("accounts").status_code == 429
    assert sdp.emulator.calls()["limit:429"] == 2


def test_injected_faults_take_no_effect() -> None:
    sdp = Sdp(faults=Faults(server_error=1.0))
    answer = sdp.create("accounts", "account", {"name": "Acme"})
    assert answer.status_code == 500
    assert answer.json() == failed(4004, "Internal error")
    assert sdp.emulator.records("accounts") == []
    assert sdp.emulator.calls() == {"create:accounts": 1, "fault:500": 1}
    limited = Sdp(faults=Faults(rate_limit=1.0, retry_after=2))
    answer = limited.get_all("accounts")
    assert (answer.status_code, answer.headers["Retry-After"]) == (429, "2")
    assert answer.json() == failed(4015, "API rate limit reached")


# ---- the emulator's own interface ----------------------------------------------------------


def test_for_connection_and_connection_config() -> None:
    onprem = ServiceDeskMspEmulator.for_connection({"url": "https://x", "technician_key": "k"})
    assert onprem.connection_config() == {
        "deployment": "on_premises",
        "url": "https://sdp.emulator.test",
        "technician_key": onprem.technician_key,
    }
    cloud = ServiceDeskMspEmulator.for_connection(
        {"deployment": "cloud", "portal": "helpdesk", "accounts_module": "customers"},
        accounts=2,
        faults={"rate_limit": 0.5, "spare": ["token"]},
    )
    assert cloud.connection_config() == {
        "deployment": "cloud",
        "url": "https://sdpondemand.manageengine.com",
        "portal": "helpdesk",
        "data_center": "com",
        "client_id": cloud.client_id,
        "client_secret": cloud.client_secret,
        "refresh_token": cloud.refresh_token,
    }
    assert len(cloud.records("customers")) == 2
    assert (cloud.faults.rate_limit, cloud.faults.spare) == (0.5, frozenset({"token"}))
    assert "customer" in cloud.records("requesters")[0]


def test_seed_change_delete_and_records(sdp: Sdp) -> None:
    [acme] = sdp.emulator.seed("accounts", [{"name": "Acme Ltd", "city": "York"}])
    assert acme["default_site"]["name"] == "Acme Ltd Base Site"
    [jane] = sdp.emulator.seed(
        "requesters",
        [{"name": "Jane", "customer": {"name": "Acme Ltd"}, "email_id": "j@a.example"}],
    )
    assert jane["account"]["id"] == acme["id"]
    sdp.clock.advance(5)
    changed = sdp.emulator.change("accounts", acme["id"], {"city": "Leeds"})
    assert changed["city"] == "Leeds"
    assert int(changed["last_updated_time"]["value"]) == int((START + 5) * 1000)
    with pytest.raises(ValueError, match="4008"):
        sdp.emulator.seed(
            "requesters", [{"name": "J2", "account": {"id": acme["id"]}, "email_id": "J@A.example"}]
        )
    with pytest.raises(ValueError, match="4005"):
        sdp.emulator.delete("accounts", acme["id"])
    sdp.emulator.delete("requesters", jane["id"])
    assert sdp.emulator.records("requesters") == []
    with pytest.raises(KeyError):
        sdp.emulator.change("accounts", "1", {"city": "x"})


def test_save_and_restore_keep_the_instance(tmp_path: Path) -> None:
    sdp = Sdp(deployment="cloud", accounts=3, requesters_per_site=2)
    sdp.made(
        "customers", "customer", {"name": "Nach dem Neustart", "udf_fields": {"udf_char1": "x"}}
    )
    sdp.emulator.save(tmp_path)
    again = ServiceDeskMspEmulator.restore(tmp_path, {"deployment": "cloud"}, clock=sdp.clock)
    for module in ("customers", "sites", "departments", "requesters"):
        assert again.records(module) == sdp.emulator.records(module)
    assert again.connection_config() == sdp.emulator.connection_config()
    http = httpx.Client(transport=again.transport(), base_url=again.url)
    headers = {"Accept": V3, "Authorization": f"Zoho-oauthtoken {sdp.token}"}  # still live
    answer = http.get("/app/itdesk/api/v3/customers", headers=headers)
    assert answer.json()["list_info"]["row_count"] == 4
    [added] = again.seed("customers", [{"name": "Later"}])
    existing = {
        r["id"]
        for m in ("customers", "sites", "departments", "requesters")
        for r in sdp.emulator.records(m)
    }
    assert added["id"] not in existing
    duplicate = again.seed
    with pytest.raises(ValueError, match="4008"):
        duplicate("customers", [{"name": "Nach dem Neustart"}])


def _instance(seed: int) -> dict[str, list[dict[str, Any]]]:
    e = ServiceDeskMspEmulator(
        seed=seed,
        clock=FakeClock(START),
        accounts=15,
        sites_per_account=2,
        departments_per_site=3,
        requesters_per_site=3,
    )
    return {m: e.records(m) for m in ("accounts", "sites", "departments", "requesters")}


def test_generation_is_deterministic() -> None:
    assert _instance(7) == _instance(7)
    assert _instance(7)["accounts"] != _instance(8)["accounts"]


def test_generated_data_is_realistic() -> None:
    data = _instance(3)
    accounts = {a["id"]: a for a in data["accounts"]}
    assert len(accounts) == 15
    assert all(ID.match(i) for i in accounts)
    names = [a["name"] for a in accounts.values()]
    assert len(set(names)) == len(names)
    assert any(not n.isascii() for n in names)
    assert any(a["phone"] is None for a in accounts.values())
    assert len(data["sites"]) == 30
    assert len(data["departments"]) == 90
    assert len(data["requesters"]) == 90
    site_ids = {s["id"] for s in data["sites"]}
    for account in accounts.values():
        assert account["default_site"]["id"] in site_ids
    for person in data["requesters"]:
        assert person["department"]["site"] == person["site"]
        assert person["site"]["id"] in site_ids
        assert accounts[person["account"]["id"]]["name"] == person["account"]["name"]
    assert any(p["email_id"] is None for p in data["requesters"])
    assert any(p["jobtitle"] for p in data["requesters"])


def test_the_same_person_may_be_a_requester_under_two_accounts() -> None:
    e = ServiceDeskMspEmulator(clock=FakeClock(START), accounts=40, requesters_per_site=5)
    accounts_by_email: dict[str, set[str]] = {}
    for person in e.records("requesters"):
        if person["email_id"]:
            accounts_by_email.setdefault(person["email_id"], set()).add(person["account"]["id"])
    assert any(len(ids) > 1 for ids in accounts_by_email.values())


def test_a_large_instance_is_generated_fast_and_pages_by_email() -> None:
    sdp = Sdp(accounts=500, requesters_per_site=10)
    some = [r for r in sdp.emulator.records("requesters") if r["email_id"]][4321]
    found = sdp.rows(
        "requesters",
        search_criteria={"field": "email_id", "condition": "is", "value": some["email_id"].upper()},
    )
    assert some["id"] in [r["id"] for r in found]


def test_an_administrator_can_make_fields_mandatory_later(tmp_path: Path) -> None:
    sdp = Sdp()
    acme = sdp.made("accounts", "account", {"name": "Acme"})
    sdp.emulator.require("requesters", ["phone"])

    answer = sdp.create("requesters", "requester", requester(acme))

    assert refusal(answer)[1] == 4012
    sdp.emulator.save(tmp_path)
    again = ServiceDeskMspEmulator.restore(tmp_path, {}, clock=sdp.clock)
    with pytest.raises(ValueError, match="4012"):
        again.seed("requesters", [requester(acme)])
