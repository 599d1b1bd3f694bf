"""Schema validation: each problem in plain words at its file:line:col, with "did you mean"
for misspelt keys and values, and plugins' config schemas checked through the spec."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from integrate.loader import load_text
from integrate.schema import combined_schema, core_schema, validate

HEAD = """\
integrate: 1
name: demo
connections:
  crm: {plugin: files, config: {path: crm}}
  sdp: {plugin: files, config: {path: sdp}}
flows:
"""
# Lines of HEAD: the first flow line is line 7.

VAULT_CONFIG: dict[str, Any] = {
    "type": "object",
    "required": ["url"],
    "additionalProperties": False,
    "properties": {
        "url": {"type": "string"},
        "token": {"type": "string", "x-secret": True},
    },
}


def problems(text: str, schema: dict[str, Any] | None = None) -> list[str]:
    doc = load_text(text, "spec.yaml")
    return [str(p) for p in validate(doc, schema if schema is not None else core_schema())]


def test_a_valid_spec_has_no_problems() -> None:
    text = HEAD + "  accounts:\n    from: crm.Accounts\n    to: sdp.accounts\n"

    assert problems(text) == []


def test_the_core_schema_is_itself_a_valid_json_schema() -> None:
    Draft202012Validator.check_schema(core_schema())
    Draft202012Validator.check_schema(combined_schema({"vault": VAULT_CONFIG}))


# ---- unknown keys ------------------------------------------------------------------------


def test_a_misspelt_top_level_key_says_did_you_mean_at_the_key() -> None:
    text = HEAD + "  a: {from: crm.A, to: sdp.B}\nshedule: '0 2 * * *'\n"

    assert problems(text) == [
        "spec.yaml:8:1: unknown key 'shedule' (did you mean 'schedule'?) (at $.shedule)"
    ]


def test_a_misspelt_flow_key_says_did_you_mean() -> None:
    text = HEAD + "  a:\n    from: crm.A\n    to: sdp.B\n    feilds: {name: Name}\n"

    assert problems(text) == [
        "spec.yaml:10:5: unknown key 'feilds' (did you mean 'fields'?) (at $.flows.a.feilds)"
    ]


def test_keys_shared_by_all_flows_are_known_to_did_you_mean() -> None:
    # `after` comes from the flows' common part (allOf), not the flow's own properties.
    text = HEAD + "  a:\n    from: crm.A\n    to: sdp.B\n    aftr: b\n"

    assert problems(text) == [
        "spec.yaml:10:5: unknown key 'aftr' (did you mean 'after'?) (at $.flows.a.aftr)"
    ]


def test_an_unknown_key_with_nothing_close_has_no_hint() -> None:
    text = HEAD + "  a: {from: crm.A, to: sdp.B, zzz: 1}\n"

    assert problems(text) == ["spec.yaml:7:31: unknown key 'zzz' (at $.flows.a.zzz)"]


def test_a_misspelt_keyword_in_a_field_pair_is_caught_as_a_side_with_a_hint() -> None:
    text = HEAD + (
        "  c:\n    between: [crm.A, sdp.B]\n    fields:\n      - {crm: x, sdp: y, valuse: {A: B}}\n"
    )

    assert problems(text) == [
        "spec.yaml:10:34: expected text, found a mapping (did you mean 'values'?)"
        " (at $.flows.c.fields[0].valuse)"
    ]


def test_a_bad_name_is_reported_at_the_key_itself() -> None:
    text = HEAD.replace("  crm: {", "  CRM: {") + "  a: {from: sdp.A, to: sdp.B}\n"

    assert problems(text) == [
        "spec.yaml:4:3: 'CRM' is not valid here: a name: lowercase letters, digits and"
        " underscores, starting with a letter (at $.connections.CRM)"
    ]


# ---- values ------------------------------------------------------------------------------


def test_an_enum_value_lists_the_options_and_the_closest() -> None:
    text = HEAD + "  a:\n    from: crm.A\n    to: sdp.B\n    unmatched: creat\n"

    assert problems(text) == [
        "spec.yaml:10:16: 'creat' is not one of create, skip, queue (did you mean 'create'?)"
        " (at $.flows.a.unmatched)"
    ]


def test_an_event_name_typo_suggests_the_event() -> None:
    text = (
        HEAD
        + "  a:\n    from: crm.A\n    to: sdp.B\n    events:\n      - {event: creatd, do: create}\n"
    )

    assert problems(text) == [
        "spec.yaml:11:17: 'creatd' is not one of created, updated, related_added"
        " (did you mean 'created'?) (at $.flows.a.events[0].event)"
    ]


def test_a_wrong_type_names_what_was_expected_and_found() -> None:
    text = HEAD + "  a: {from: crm.A, to: sdp.B, batch_size: 0, page_size: many}\n"

    assert problems(text) == [
        "spec.yaml:7:43: must be at least 1, found 0 (at $.flows.a.batch_size)",
        "spec.yaml:7:57: expected a whole number, found text (at $.flows.a.page_size)",
    ]


def test_the_language_version_must_be_one() -> None:
    text = HEAD.replace("integrate: 1", "integrate: 2") + "  a: {from: crm.A, to: sdp.B}\n"

    assert problems(text) == ["spec.yaml:1:12: must be 1, found 2 (at $.integrate)"]


def test_a_pattern_failure_explains_the_form_in_a_whole_sentence() -> None:
    text = HEAD + "  a: {from: crm.A, to: sdp.B, schedule: daily}\n"

    assert problems(text) == [
        "spec.yaml:7:41: 'daily' is not valid here: a cron expression: minute hour"
        ' day-of-month month day-of-week, e.g. "0 2 * * *" (02:00 every day),'
        " or @hourly / @daily / @weekly (at $.flows.a.schedule)"
    ]


def test_an_object_reference_without_a_connection_is_refused() -> None:
    text = HEAD + "  a: {from: crmAccounts, to: sdp.B}\n"

    (found,) = problems(text)
    assert found.startswith("spec.yaml:7:13: 'crmAccounts' is not valid here: connection.Object")


# ---- required keys -----------------------------------------------------------------------


def test_missing_top_level_keys_are_named() -> None:
    assert problems("integrate: 1\nname: demo\n") == [
        "spec.yaml:1:1: missing required key 'connections'",
        "spec.yaml:1:1: missing required key 'flows'",
    ]


def test_a_missing_key_in_a_list_item_points_at_the_item() -> None:
    text = HEAD + "  a:\n    from: crm.A\n    to: sdp.B\n    events:\n      - event: created\n"

    assert problems(text) == ["spec.yaml:11:9: missing required key 'do' (at $.flows.a.events[0])"]


def test_a_rule_without_an_action_lists_the_actions() -> None:
    text = HEAD + "  a:\n    from: crm.A\n    to: sdp.B\n    rules:\n      - when: x\n"

    assert problems(text) == [
        "spec.yaml:11:9: needs one of the keys skip, queue, defer, fail, set, route"
        " (at $.flows.a.rules[0])"
    ]


# ---- anyOf: the branch that fits the value's form ----------------------------------------


def test_anyof_reports_the_misspelt_key_of_the_object_form_not_the_text_form() -> None:
    # `unmatched` is a policy word or {first_run, later}: a mapping with a typo is about keys.
    text = HEAD + (
        "  a:\n    from: crm.A\n    to: sdp.B\n    unmatched: {first_run: queue, latr: create}\n"
    )

    assert problems(text) == [
        "spec.yaml:10:5: missing required key 'later' (at $.flows.a.unmatched)",
        "spec.yaml:10:35: unknown key 'latr' (did you mean 'later'?) (at $.flows.a.unmatched.latr)",
    ]


def test_anyof_goes_to_the_deepest_problem_in_nested_forms() -> None:
    text = HEAD + (
        "  c:\n    between: [crm.A, sdp.B]\n    fields: [{crm: x, sdp: y}]\n"
        "    unmatched: {to_crm: {first_run: queue, later: creat}}\n"
    )

    assert problems(text) == [
        "spec.yaml:10:51: 'creat' is not one of create, skip, queue (did you mean 'create'?)"
        " (at $.flows.c.unmatched.to_crm.later)"
    ]


def test_anyof_with_a_list_value_reports_inside_the_list() -> None:
    text = HEAD + (
        "  a:\n    from: crm.A\n    to: sdp.B\n    match: {keys: [[x, y]], normalize: [cse]}\n"
    )

    assert problems(text) == [
        "spec.yaml:10:41: 'cse' is not one of case, whitespace (did you mean 'case'?)"
        " (at $.flows.a.match.normalize[0])"
    ]


def test_anyof_with_too_short_a_list_says_how_many_items() -> None:
    text = HEAD + "  a:\n    from: crm.A\n    to: sdp.B\n    match: [[Email]]\n"

    assert problems(text) == ["spec.yaml:10:13: needs at least 2 items (at $.flows.a.match[0])"]


# ---- plugins' config schemas -------------------------------------------------------------


def test_combined_schema_checks_a_plugin_config_and_suggests_its_keys() -> None:
    schema = combined_schema({"vault": VAULT_CONFIG})
    text = (
        "integrate: 1\nname: demo\nconnections:\n"
        "  v:\n    plugin: vault\n    config:\n      url: https://vault.example\n      tokn: x\n"
        "flows:\n  a: {from: v.A, to: v.B}\n"
    )

    assert problems(text, schema) == [
        "spec.yaml:8:7: unknown key 'tokn' (did you mean 'token'?) (at $.connections.v.config.tokn)"
    ]


def test_combined_schema_reports_a_missing_required_config_key_at_config() -> None:
    schema = combined_schema({"vault": VAULT_CONFIG})
    text = (
        "integrate: 1\nname: demo\nconnections:\n"
        "  v:\n    plugin: vault\n    config:\n      token: x\n"
        "flows:\n  a: {from: v.A, to: v.B}\n"
    )

    assert problems(text, schema) == [
        "spec.yaml:6:5: missing required key 'url' (at $.connections.v.config)"
    ]


def test_the_core_schema_alone_does_not_check_plugin_configs() -> None:
    text = (
        "integrate: 1\nname: demo\nconnections:\n"
        "  v: {plugin: vault, config: {tokn: x}}\nflows:\n  a: {from: v.A, to: v.B}\n"
    )

    assert problems(text) == []


def test_each_plugin_schema_applies_only_to_its_own_connections() -> None:
    schema = combined_schema({"vault": VAULT_CONFIG, "other": {"type": "object"}})
    text = (
        "integrate: 1\nname: demo\nconnections:\n"
        "  o: {plugin: other, config: {tokn: x}}\nflows:\n  a: {from: o.A, to: o.B}\n"
    )

    assert problems(text, schema) == []


def test_combined_schema_offers_plugin_names_to_editors() -> None:
    schema = combined_schema({"vault": VAULT_CONFIG, "files": {"type": "object"}})

    assert schema["$defs"]["connection"]["properties"]["plugin"]["examples"] == ["files", "vault"]
    assert "examples" not in core_schema()["$defs"]["connection"]["properties"]["plugin"]
