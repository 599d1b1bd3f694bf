"""Spec → model: expressions compiled once, every reference checked, every problem reported
at once at its line and column, secrets never written into a spec."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import jmespath
import pytest

from integrate import (
    Connector,
    ObjectInfo,
    Page,
    RecordError,
    Secret,
    WriteItem,
    WriteResult,
    hookimpl,
)
from integrate.build import load_spec, resolve_config
from integrate.errors import SpecError
from integrate.model import Spec, SyncFlow
from integrate.plugins import BLOCK_ENV, Plugins, make_plugins
from integrate.secrets import Resolver

HEAD = """\
integrate: 1
name: demo
connections:
  crm: {plugin: files, config: {path: crm}}
  sdp: {plugin: files, config: {path: sdp}}
flows:
"""
# HEAD is 6 lines: the first flow line below it is line 7.


def with_flows(flows: str) -> str:
    return HEAD + flows


class VaultConnector(Connector):
    """A plugin whose config has secrets, marked the way plugin authors mark them."""

    plugin = "vault"
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["url"],
        "properties": {
            "url": {"type": "string"},
            "api_key": {"type": "string", "x-secret": True},
            "oauth": {
                "type": "object",
                "properties": {"refresh_token": {"type": "string", "x-secret": True}},
            },
        },
    }

    def describe(self, object: str) -> ObjectInfo:
        return ObjectInfo(object)

    def read(
        self,
        object: str,
        *,
        since: Any = None,
        fields: Sequence[str] | None = None,
        page_size: int | None = None,
    ) -> Iterator[Page]:
        return iter(())

    def write(self, object: str, operation: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        return []


class VaultPlugin:
    @hookimpl
    def integrate_register_connectors(self) -> list[type[Connector]]:
        return [VaultConnector]


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> Plugins:
    """A fresh plugin manager with the installed files plugin and a test `vault` plugin."""
    monkeypatch.delenv(BLOCK_ENV, raising=False)
    return make_plugins(extra=[("vault", VaultPlugin())])


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    return tmp_path / "spec.yaml"


def build(
    spec_file: Path,
    text: str,
    plugins: Plugins | None,
    *,
    environ: dict[str, str] | None = None,
    strict_env: bool = True,
) -> Spec:
    spec_file.write_text(text)
    resolver = Resolver(environ=environ or {}, base=spec_file.parent)
    return load_spec(spec_file, plugins, resolver=resolver, strict_env=strict_env)


def problems(
    spec_file: Path,
    text: str,
    plugins: Plugins | None,
    *,
    environ: dict[str, str] | None = None,
    strict_env: bool = True,
) -> list[str]:
    """The problems a spec has, as the CLI prints them, with the file shown as spec.yaml."""
    with pytest.raises(SpecError) as caught:
        build(spec_file, text, plugins, environ=environ, strict_env=strict_env)
    return [str(p).replace(str(spec_file), "spec.yaml") for p in caught.value.problems]


def sync_flow(spec: Spec, name: str) -> SyncFlow:
    flow = spec.flows[name]
    assert isinstance(flow, SyncFlow)
    return flow


def assigns(flow: SyncFlow, side: str) -> dict[str, Any]:
    """field → compiled expression, for every pair writing to `side`."""
    return {a.field: a.expr for pair in flow.pairs_to(side) for a in pair.make[side]}


# ---- the model -----------------------------------------------------------------------------


ONE_WAY = with_flows("""\
  accounts:
    from: crm.Accounts
    to: sdp.accounts
    match:
      - [Account_Name, name]
    fields:
      name: Account_Name
      address.city: Billing.City
      phone: coalesce(Phone, Mobile)
      kind: "'customer'"
      rank: 3
    on_create:
      description: "'Account Created from ZOHO CRM'"
""")


def test_a_one_way_flow_becomes_a_model_of_compiled_expressions(
    spec_file: Path, plugins: Plugins
) -> None:
    spec = build(spec_file, ONE_WAY, plugins)

    flow = sync_flow(spec, "accounts")
    assert [s.name for s in flow.sides] == ["source", "target"]
    assert flow.only_to == "target"
    fields = assigns(flow, "target")
    record = {"Account_Name": "ACME", "Billing": {"City": "Oslo"}, "Phone": None, "Mobile": "555"}
    assert {name: expr(record) for name, expr in fields.items()} == {
        "name": "ACME",
        "address.city": "Oslo",
        "phone": "555",
        "kind": "customer",
        "rank": 3,
    }
    # Plain field paths never enter the JMESPath interpreter.
    assert fields["name"].path == ("Account_Name",)
    assert fields["address.city"].path == ("Billing", "City")
    assert fields["phone"].path is None
    assert fields["kind"].constant
    (create,) = flow.on_create["target"]
    assert create.expr({}) == "Account Created from ZOHO CRM"
    assert str(fields["phone"].location) == f"{spec_file}:15:14"


def test_expressions_are_compiled_when_the_spec_is_built_never_per_record(
    spec_file: Path, plugins: Plugins, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = build(spec_file, ONE_WAY, plugins)

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("an expression was parsed while mapping a record")

    monkeypatch.setattr(jmespath, "compile", refuse)
    monkeypatch.setattr(jmespath.parser.Parser, "parse", refuse)
    flow = sync_flow(spec, "accounts")
    for n in range(3):
        record = {"Account_Name": f"A{n}", "Phone": f"{n}"}
        assert assigns(flow, "target")["phone"](record) == f"{n}"
        assert flow.match[0].exprs["source"](record) == f"A{n}"


def test_core_only_build_does_not_need_the_plugins(spec_file: Path) -> None:
    text = HEAD.replace("plugin: files", "plugin: not_installed") + (
        "  a: {from: crm.A, to: sdp.B, fields: {x: lower(y)}}\n"
    )

    spec = build(spec_file, text, None)

    assert spec.connections["crm"].plugin == "not_installed"
    assert assigns(sync_flow(spec, "a"), "target")["x"]({"y": "Q"}) == "q"


def test_a_plugin_that_is_not_installed_is_named_with_what_is_installed(
    spec_file: Path, plugins: Plugins
) -> None:
    text = HEAD.replace("crm: {plugin: files", "crm: {plugin: filez") + (
        "  a: {from: crm.A, to: sdp.B}\n"
    )

    assert problems(spec_file, text, plugins) == [
        "spec.yaml:4:17: plugin 'filez' is not installed (did you mean 'files'?)"
        " (installed: clientsuccess, files, ideolve, salesmanago, servicedesk_msp, vault, zoho_crm) (at $.connections.crm.plugin)"
    ]


def test_a_misspelt_plugin_config_key_is_reported_through_the_spec(
    spec_file: Path, plugins: Plugins
) -> None:
    text = HEAD.replace("{path: crm}", "{pth: crm}") + "  a: {from: crm.A, to: sdp.B}\n"

    found = problems(spec_file, text, plugins)

    assert (
        "spec.yaml:4:33: unknown key 'pth' (did you mean 'path'?) (at $.connections.crm.config.pth)"
        in found
    )


def test_flows_are_ordered_by_after(spec_file: Path, plugins: Plugins) -> None:
    text = with_flows("""\
  requesters:
    after: accounts
    from: crm.Contacts
    to: sdp.requesters
    fields:
      account.id: linked('accounts', Account_Name.id)
  accounts:
    from: crm.Accounts
    to: sdp.accounts
""")

    spec = build(spec_file, text, plugins)

    assert list(spec.flows) == ["accounts", "requesters"]


# ---- expressions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "column"),
    [
        ('"Phone Mobile"', 21),  # the opening quote is column 14: "Mobile" starts at 21
        ("Phone Mobile", 20),
        ("'Phone Mobile'", 21),
    ],
)
def test_a_syntax_error_points_at_the_column_inside_the_expression(
    spec_file: Path, plugins: Plugins, value: str, column: int
) -> None:
    text = HEAD + f"  a:\n    from: crm.A\n    to: sdp.B\n    fields:\n      phone: {value}\n"

    assert problems(spec_file, text, plugins) == [
        f"spec.yaml:11:{column}: invalid expression 'Phone Mobile': Unexpected token: Mobile"
        " (near 'Mobile') (at $.flows.a.fields.phone)"
    ]


def test_an_incomplete_expression_points_at_its_end(spec_file: Path, plugins: Plugins) -> None:
    text = HEAD + '  a:\n    from: crm.A\n    to: sdp.B\n    fields:\n      name: "lower(Name"\n'

    assert problems(spec_file, text, plugins) == [
        "spec.yaml:11:24: invalid expression 'lower(Name': Incomplete expression"
        " (at $.flows.a.fields.name)"
    ]


def test_a_syntax_error_in_a_multi_line_value_points_at_the_value_not_past_a_line_end(
    spec_file: Path, plugins: Plugins
) -> None:
    text = with_flows("""\
  a:
    from: crm.A
    to: sdp.B
    fields:
      phone: >-
        Phone Mobile
      name: lower(First_Name)
        Last_Name
""")

    # Folded text is not where its offsets say: point at the value itself (the `>-`, and
    # the start of the plain scalar), never at a column past the end of line 11 or 13.
    assert problems(spec_file, text, plugins) == [
        "spec.yaml:11:14: invalid expression 'Phone Mobile': Unexpected token: Mobile"
        " (near 'Mobile') (at $.flows.a.fields.phone)",
        "spec.yaml:13:13: invalid expression 'lower(First_Name) Last_Name': Unexpected token:"
        " Last_Name (near 'Last_Name') (at $.flows.a.fields.name)",
    ]


def test_function_problems_are_all_reported_at_once(spec_file: Path, plugins: Plugins) -> None:
    text = with_flows("""\
  a:
    from: crm.A
    to: sdp.B
    fields:
      name: lowr(Name)
      phone: concat()
      email: lower(Email, Name)
    rules:
      - when: "tirm(Name) == ''"
        skip: no name
""")

    assert problems(spec_file, text, plugins) == [
        "spec.yaml:11:13: unknown function lowr() (did you mean lower()?) (at $.flows.a.fields.name)",
        "spec.yaml:12:14: concat() takes at least 1 argument, got 0 (at $.flows.a.fields.phone)",
        "spec.yaml:13:14: lower() takes 1 argument, got 2 (at $.flows.a.fields.email)",
        "spec.yaml:15:15: unknown function tirm() (did you mean trim()?)"
        " (at $.flows.a.rules[0].when)",
    ]


def test_match_keys_and_filters_are_checked_too(spec_file: Path, plugins: Plugins) -> None:
    text = with_flows("""\
  a:
    from: crm.A
    to: sdp.B
    filter: "Status =="
    match:
      - [lower(Email), lowerr(email)]
""")

    assert problems(spec_file, text, plugins) == [
        "spec.yaml:10:23: invalid expression 'Status ==': Incomplete expression"
        " (at $.flows.a.filter)",
        "spec.yaml:12:24: unknown function lowerr() (did you mean lower()?)"
        " (at $.flows.a.match[0][1])",
    ]


def one_field(expression: str) -> str:
    """A spec whose one field (line 11, value at column 13) holds `expression`, quoted."""
    return HEAD + f'  a:\n    from: crm.A\n    to: sdp.B\n    fields:\n      name: "{expression}"\n'


def test_an_expression_nested_500_deep_is_a_problem_at_its_column_not_a_crash(
    spec_file: Path, plugins: Plugins
) -> None:
    # Before: jmespath's parser recursed once per level and died with RecursionError.
    text = one_field("(" * 500 + "Name" + ")" * 500)

    assert problems(spec_file, text, plugins) == [
        # the 33rd bracket: column 13 is the quote, 14 the first bracket
        "spec.yaml:11:46: the expression nests brackets deeper than 32 levels: split it"
        " (a `let` value, or one field per step) (at $.flows.a.fields.name)"
    ]


@pytest.mark.parametrize(
    "expression",
    ["!" * 1500 + "Name", "Name" + "[*]" * 1200, " || ".join(["Name"] * 500)],
    ids=["negations", "projections", "alternatives"],
)
def test_long_chains_are_refused_when_built(
    spec_file: Path, plugins: Plugins, expression: str
) -> None:
    # Each parses (or evaluates) one Python frame per link: refused at the expression.
    found = problems(spec_file, one_field(expression), plugins)

    assert len(found) == 1
    assert found[0].startswith("spec.yaml:11:13: the expression nests deeper than 64 levels")


def test_an_expression_that_doubles_its_input_170_times_is_refused_when_built(
    spec_file: Path, plugins: Plugins
) -> None:
    # Before: it built and ended in MemoryError on the first record.
    text = one_field("Name" + " | [@, @] | join('', @)" * 170)

    assert problems(spec_file, text, plugins) == [
        "spec.yaml:11:13: the expression can build a result thousands of times larger than"
        " the record it reads (a value copied into itself again and again); results are"
        " limited to 16,777,216 characters and items: simplify it (at $.flows.a.fields.name)"
    ]


def test_a_constant_doubled_into_itself_is_refused_too(spec_file: Path, plugins: Plugins) -> None:
    text = one_field("'ab'" + " | [@, @] | join('', @)" * 40)

    assert "can build a result thousands of times larger" in problems(spec_file, text, plugins)[0]


@pytest.mark.parametrize(
    "expression",
    [
        "join(' ', [First_Name, Last_Name][?@])",
        "concat(a, b, c, d, e, f, g, h, i, j)",
        "{n: Name, c: City, p: [Phone, Mobile]} | to_string(@)",
        "replace(Name, ' ', '-')",
        "Name" + " | [@, @] | join('', @)" * 10,
    ],
)
def test_ordinary_expressions_are_within_the_limits(
    spec_file: Path, plugins: Plugins, expression: str
) -> None:
    spec = build(spec_file, one_field(expression), plugins)

    assert assigns(sync_flow(spec, "a"), "target")["name"] is not None


def test_a_result_that_grows_past_the_limit_fails_that_record_at_the_expression(
    spec_file: Path, plugins: Plugins
) -> None:
    # 2^16 copies: allowed when built, too large for a 300-character name.
    spec = build(spec_file, one_field("Name" + " | [@, @] | join('', @)" * 16), plugins)
    expr = assigns(sync_flow(spec, "a"), "target")["name"]

    assert len(expr({"Name": "ab"})) == 2 * 2**16
    with pytest.raises(RecordError) as caught:
        expr({"Name": "x" * 300})

    assert caught.value.location is not None
    assert str(caught.value.location) == f"{spec_file}:11:13"
    assert caught.value.message.startswith("Name | [@, @] | join('', @)")
    assert "the result grew past 16,777,216 characters and items" in caught.value.message


def test_let_without_a_let_block_is_an_error_wherever_it_is_read(
    spec_file: Path, plugins: Plugins
) -> None:
    # Before: it built, and let.acount read a field `let` of the record: null every time.
    text = with_flows("""\
  a:
    from: crm.A
    to: sdp.B
    filter: "let.active"
    match: [[let.key, name]]
    fields:
      region: let.acount.region
""")

    assert problems(spec_file, text, plugins) == [
        "spec.yaml:10:13: let.active is not defined: this flow has no `let:` block"
        " (add one: let: {active: <expression>}) (at $.flows.a.filter)",
        "spec.yaml:11:14: let.key is not defined: this flow has no `let:` block"
        " (add one: let: {key: <expression>}) (at $.flows.a.match[0][0])",
        "spec.yaml:13:15: let.acount is not defined: this flow has no `let:` block"
        " (add one: let: {acount: <expression>}) (at $.flows.a.fields.region)",
    ]


def test_a_two_way_flow_reads_a_field_called_let_as_any_other(
    spec_file: Path, plugins: Plugins
) -> None:
    # `let` is a one-way flow's block; a two-way flow has none, so let.x is a record's field.
    text = with_flows("""\
  a:
    between: [crm.A, sdp.B]
    fields:
      - {crm: name, to_crm: let.name, sdp: name}
""")

    spec = build(spec_file, text, plugins)

    assert assigns(sync_flow(spec, "a"), "crm")["name"]({"let": {"name": "x"}}) == "x"


CATALOGUES = HEAD.replace(
    "crm: {plugin: files, config: {path: crm}}",
    "crm: {plugin: files, config: {path: crm, fields: [Name, Email, Status, Owner]}}",
).replace(
    "sdp: {plugin: files, config: {path: sdp}}",
    "sdp: {plugin: files, config: {path: sdp, cursor_field: changed, fields: [name, email]}}",
)


def test_fields_read_are_checked_against_each_side_s_catalogue_when_built(
    spec_file: Path, plugins: Plugins
) -> None:
    text = (
        CATALOGUES
        + """\
  a:
    between: [crm.A, sdp.B]
    filter: {sdp: "changed > '1'"}
    match: [[Emial, emial]]
    fields:
      - {crm: Name, sdp: name}
      - {crm: Owner.email, to_sdp: "Owner.emial", sdp: email, direction: to_sdp}
    rules:
      - {when: "Status == 'x' || name == 'y'", skip: either side}
      - {when: "Stauts == 'x'", skip: neither side}
      - {when: "id == '1'", side: sdp, skip: the id is on every record}
"""
    )

    assert problems(spec_file, text, plugins) == [
        "spec.yaml:10:14: files crm.A has no field 'Emial' to read (did you mean 'Email'?)",
        "spec.yaml:10:21: files sdp.B has no field 'emial' to read (did you mean 'email'?)",
        "spec.yaml:16:16: neither crm.A nor sdp.B has a field 'Stauts' (did you mean 'Status'?)",
    ]  # Owner.emial: only Owner is checked; `changed` and `id` are on every record


def test_a_side_without_a_catalogue_is_not_checked(spec_file: Path, plugins: Plugins) -> None:
    text = HEAD + "  a:\n    from: crm.A\n    to: sdp.B\n    fields: {x: Anything.at_all}\n"

    assert build(spec_file, text, plugins).flows["a"] is not None


# ---- flows referring to flows ------------------------------------------------------------


LINKED = with_flows("""\
  accounts:
    from: crm.Accounts
    to: sdp.accounts
  requesters:
    from: crm.Contacts
    to: sdp.requesters
    fields:
      account.id: linked('accounts', Account_Name.id)
""")


def test_linked_needs_the_linked_flow_to_run_first(spec_file: Path, plugins: Plugins) -> None:
    assert problems(spec_file, LINKED, plugins) == [
        "spec.yaml:14:19: linked('accounts') needs flow 'accounts' to run first:"
        " add `after: accounts` to flow 'requesters' (at $.flows.requesters.fields['account.id'])"
    ]


def test_linked_is_satisfied_by_an_indirect_after(spec_file: Path, plugins: Plugins) -> None:
    text = LINKED.replace(
        "  requesters:\n",
        "  sites:\n    after: accounts\n    from: crm.S\n    to: sdp.sites\n"
        "  requesters:\n    after: [sites]\n",
    )

    spec = build(spec_file, text, plugins)

    assert list(spec.flows) == ["accounts", "sites", "requesters"]


def test_linked_to_a_flow_that_does_not_exist(spec_file: Path, plugins: Plugins) -> None:
    text = LINKED.replace("linked('accounts'", "linked('acounts'")

    assert problems(spec_file, text, plugins) == [
        "spec.yaml:14:19: linked('acounts'): there is no sync flow 'acounts'"
        " (did you mean 'accounts'?) (at $.flows.requesters.fields['account.id'])"
    ]


def test_after_naming_a_flow_that_does_not_exist(spec_file: Path, plugins: Plugins) -> None:
    text = with_flows("""\
  accounts:
    from: crm.Accounts
    to: sdp.accounts
  requesters:
    after: [acounts]
    from: crm.Contacts
    to: sdp.requesters
""")

    assert problems(spec_file, text, plugins) == [
        "spec.yaml:11:13: there is no flow 'acounts' (did you mean 'accounts'?)"
        " (at $.flows.requesters.after[0])"
    ]


def test_flows_running_after_each_other_in_a_circle(spec_file: Path, plugins: Plugins) -> None:
    text = with_flows("""\
  a:
    after: b
    from: crm.A
    to: sdp.A
  b:
    after: a
    from: crm.B
    to: sdp.B
""")

    assert problems(spec_file, text, plugins) == [
        "spec.yaml:8:12: flows run after each other in a circle: a → b → a (at $.flows.a.after)"
    ]


def test_a_flow_cannot_run_after_itself(spec_file: Path, plugins: Plugins) -> None:
    text = HEAD + "  a:\n    after: a\n    from: crm.A\n    to: sdp.A\n"

    found = problems(spec_file, text, plugins)

    assert "spec.yaml:8:12: a flow cannot run after itself (at $.flows.a.after)" in found


def test_an_object_of_an_unknown_connection(spec_file: Path, plugins: Plugins) -> None:
    text = HEAD + "  a:\n    from: crmm.Accounts\n    to: sdp.accounts\n"

    assert problems(spec_file, text, plugins) == [
        "spec.yaml:8:11: there is no connection 'crmm' (did you mean 'crm'?) (at $.flows.a.from)"
    ]


def test_lookup_of_an_unknown_connection(spec_file: Path, plugins: Plugins) -> None:
    text = HEAD + (
        "  a:\n    from: crm.A\n    to: sdp.B\n    fields:\n"
        "      site: \"lookup('spd.sites', {name: Site}).name\"\n"
    )

    assert problems(spec_file, text, plugins) == [
        "spec.yaml:11:13: lookup('spd.sites'): there is no connection 'spd'"
        " (did you mean 'sdp'?) (at $.flows.a.fields.site)"
    ]


# ---- two-way flows -----------------------------------------------------------------------


TWO_WAY = with_flows("""\
  contacts:
    between: {sm: crm.contacts, zc: sdp.Leads|Contacts}
    match: [[email, Email]]
    fields:
      - {sm: email, zc: Email}
      - sm: state
        zc: $object
        values: {PROSPECT: Leads, CUSTOMER: Contacts}
        default: {sm: PROSPECT}
      - sm: name
        to_sm: "join(' ', [First_Name, Last_Name][?@])"
        to_zc: {First_Name: first_word(name), Last_Name: rest_words(name)}
      - sm: phone
        zc: Phone
        direction: to_zc
""")


def test_a_two_way_flow_names_its_sides_and_maps_both_ways(
    spec_file: Path, plugins: Plugins
) -> None:
    spec = build(spec_file, TWO_WAY, plugins)

    flow = sync_flow(spec, "contacts")
    assert [(s.name, s.ref.text) for s in flow.sides] == [
        ("sm", "crm.contacts"),
        ("zc", "sdp.Leads|Contacts"),
    ]
    to_zc = assigns(flow, "zc")
    to_sm = assigns(flow, "sm")
    sm_record = {"email": "a@b.c", "state": "CUSTOMER", "name": "Jean Paul Sartre", "phone": "1"}
    zc_record = {"Email": "a@b.c", "$object": "Leads", "First_Name": "Ann", "Last_Name": "Lee"}
    assert {f: e(sm_record) for f, e in to_zc.items()} == {
        "Email": "a@b.c",
        "$object": "Contacts",
        "First_Name": "Jean",
        "Last_Name": "Paul Sartre",
        "Phone": "1",
    }
    # The phone pair flows to zc only.
    assert {f: e(zc_record) for f, e in to_sm.items()} == {
        "email": "a@b.c",
        "state": "PROSPECT",
        "name": "Ann Lee",
    }


def test_a_value_map_default_applies_to_its_side_only(spec_file: Path, plugins: Plugins) -> None:
    spec = build(spec_file, TWO_WAY, plugins)
    flow = sync_flow(spec, "contacts")

    # zc → sm: a module the map does not know takes the sm default.
    assert assigns(flow, "sm")["state"]({"$object": "Deals"}) == "PROSPECT"
    # sm → zc: no default for zc, so an unknown state fails the record, pointing at the map.
    with pytest.raises(RecordError) as caught:
        assigns(flow, "zc")["$object"]({"state": "PARTNER"})
    assert (
        caught.value.message == "the value 'PARTNER' has no entry in the value map state ⇄ $object"
    )
    assert str(caught.value.location) == f"{spec_file}:14:17"
    # A missing value stays missing rather than failing.
    assert assigns(flow, "zc")["$object"]({}) is None


def test_a_missing_value_for_object_takes_the_default(spec_file: Path, plugins: Plugins) -> None:
    # A record is always in one object: a contact with no state goes where `default` says.
    text = TWO_WAY.replace("default: {sm: PROSPECT}", "default: {sm: PROSPECT, zc: Leads}")
    flow = sync_flow(build(spec_file, text, plugins), "contacts")

    assert assigns(flow, "zc")["$object"]({}) == "Leads"
    assert assigns(flow, "zc")["$object"]({"state": None}) == "Leads"
    assert assigns(flow, "sm")["state"]({"$object": None}) is None  # other fields stay null


def test_a_value_map_must_work_both_ways(spec_file: Path, plugins: Plugins) -> None:
    text = TWO_WAY.replace("{PROSPECT: Leads, CUSTOMER: Contacts}", "{PROSPECT: Leads, NEW: Leads}")

    assert problems(spec_file, text, plugins) == [
        "spec.yaml:14:40: 'Leads' appears twice on the zc side: the map must work both ways"
        " (at $.flows.contacts.fields[1].values.NEW)"
    ]


def test_a_value_map_default_for_an_unknown_side(spec_file: Path, plugins: Plugins) -> None:
    text = TWO_WAY.replace("default: {sm: PROSPECT}", "default: {smm: PROSPECT}")

    assert problems(spec_file, text, plugins) == [
        "spec.yaml:15:19: there is no side 'smm' (did you mean 'sm'?)"
        " (at $.flows.contacts.fields[1].default.smm)"
    ]


def test_sides_of_a_list_are_named_after_their_connections(
    spec_file: Path, plugins: Plugins
) -> None:
    text = (
        HEAD
        + "  c:\n    between: [crm.contacts, sdp.users]\n    fields:\n      - {crm: email, sdp: mail}\n"
    )

    flow = sync_flow(build(spec_file, text, plugins), "c")

    assert [s.name for s in flow.sides] == ["crm", "sdp"]
    assert assigns(flow, "sdp")["mail"]({"email": "x@y"}) == "x@y"
    assert assigns(flow, "crm")["email"]({"mail": "x@y"}) == "x@y"


def test_two_sides_on_one_connection_must_be_named(spec_file: Path, plugins: Plugins) -> None:
    text = HEAD + "  c:\n    between: [crm.A, crm.B]\n    fields:\n      - {crm: email}\n"

    assert problems(spec_file, text, plugins) == [
        "spec.yaml:8:14: both sides use connection 'crm': name the sides,"
        " e.g. between: {left: conn.A, right: conn.B} (at $.flows.c.between)"
    ]


def test_a_pair_naming_an_unknown_side(spec_file: Path, plugins: Plugins) -> None:
    text = HEAD + (
        "  c:\n    between: {sm: crm.contacts, zc: sdp.Leads}\n    fields:\n"
        "      - {sm: email, zcc: Email}\n      - {sm: name, to_zz: Name}\n"
    )

    assert problems(spec_file, text, plugins) == [
        "spec.yaml:10:21: there is no side 'zcc' (did you mean 'zc'?) (at $.flows.c.fields[0].zcc)",
        "spec.yaml:11:20: 'to_zz' names no side (use to_sm, to_zc) (at $.flows.c.fields[1].to_zz)",
    ]


def test_a_keyword_cannot_name_a_side(spec_file: Path, plugins: Plugins) -> None:
    text = HEAD + (
        "  c:\n    between: {values: crm.contacts, zc: sdp.Leads}\n    fields:\n"
        "      - {zc: Email}\n"
    )

    found = problems(spec_file, text, plugins)

    assert any("'values' cannot name a side (it is a keyword)" in p for p in found)


def test_to_side_in_dict_form_writes_several_fields(spec_file: Path, plugins: Plugins) -> None:
    spec = build(spec_file, TWO_WAY, plugins)
    flow = sync_flow(spec, "contacts")

    (pair,) = [p for p in flow.pairs if "name" in p.fields.get("sm", ())]
    assert pair.fields["zc"] == ("First_Name", "Last_Name")
    assert [a.field for a in pair.make["zc"]] == ["First_Name", "Last_Name"]


def test_object_field_only_on_a_side_of_several_objects(spec_file: Path, plugins: Plugins) -> None:
    text = with_flows("""\
  c:
    between: {sm: crm.contacts, zc: sdp.Leads}
    fields:
      - {sm: state, zc: $object}
  a:
    from: crm.A
    to: sdp.B
    fields:
      $object: "'B'"
""")

    assert problems(spec_file, text, plugins) == [
        "spec.yaml:10:25: $object only exists on a side that spans several objects (conn.A|B)"
        " (at $.flows.c.fields[0].zc)",
        "spec.yaml:15:7: $object only exists on a side that spans several objects (conn.A|B)"
        " (at $.flows.a.fields['$object'])",
    ]


def test_a_rule_does_one_thing(spec_file: Path, plugins: Plugins) -> None:
    text = with_flows("""\
  a:
    from: crm.A
    to: sdp.B
    rules:
      - when: "!Account_Name"
        skip: no account
        queue: ask someone
""")

    assert problems(spec_file, text, plugins) == [
        "spec.yaml:11:9: a rule does one thing; this one says skip, queue (at $.flows.a.rules[0])"
    ]


# ---- secrets and references --------------------------------------------------------------


VAULT = """\
integrate: 1
name: demo
connections:
  crm: {plugin: files, config: {path: crm}}
  v:
    plugin: vault
    config:
      url: ${env:VAULT_URL}
      api_key: API_KEY_VALUE
      oauth:
        refresh_token: ${env:VAULT_REFRESH_TOKEN}
flows:
  a: {from: crm.A, to: v.B}
"""


def test_a_secret_config_value_written_in_the_spec_is_an_error(
    spec_file: Path, plugins: Plugins
) -> None:
    text = VAULT.replace("API_KEY_VALUE", "canary-literal-secret-42")
    environ = {"VAULT_URL": "https://vault.example", "VAULT_REFRESH_TOKEN": "canary-rt"}

    found = problems(spec_file, text, plugins, environ=environ)

    assert found == [
        "spec.yaml:9:16: 'api_key' is a secret: write a reference such as ${env:NAME} or"
        " ${file:PATH}, never the value itself (at $.connections.v.config.api_key)"
    ]
    assert "canary-literal-secret-42" not in "\n".join(found)


def test_a_secret_config_value_with_a_default_is_an_error(
    spec_file: Path, plugins: Plugins
) -> None:
    # ${env:NAME:-default} would let the secret itself be written in the spec as the default.
    text = VAULT.replace("API_KEY_VALUE", "${env:VAULT_API_KEY:-canary-default-secret-42}")
    environ = {"VAULT_URL": "https://vault.example", "VAULT_REFRESH_TOKEN": "canary-rt"}

    found = problems(spec_file, text, plugins, environ=environ)

    assert found == [
        "spec.yaml:9:16: 'api_key' is a secret: its reference cannot have a default"
        " (${env:VAULT_API_KEY:-...}), since the default would be the secret itself; drop the"
        " default (at $.connections.v.config.api_key)"
    ]
    assert "canary-default-secret-42" not in "\n".join(found)


def test_secret_config_values_resolve_to_secrets_at_run_time(
    spec_file: Path, plugins: Plugins
) -> None:
    text = VAULT.replace("API_KEY_VALUE", "${env:VAULT_API_KEY}")
    environ = {
        "VAULT_URL": "https://vault.example",
        "VAULT_API_KEY": "canary-key-1234",
        "VAULT_REFRESH_TOKEN": "canary-rt-5678",
    }
    spec = build(spec_file, text, plugins, environ=environ)
    connection = spec.connections["v"]

    # The built spec holds references only.
    assert connection.config["api_key"] == "${env:VAULT_API_KEY}"
    assert connection.secret_paths == {("api_key",), ("oauth", "refresh_token")}

    config = resolve_config(connection, Resolver(environ=environ))

    assert config["url"] == "https://vault.example"
    assert isinstance(config["api_key"], Secret)
    assert config["api_key"].reveal() == "canary-key-1234"
    assert isinstance(config["oauth"]["refresh_token"], Secret)
    assert "canary" not in repr(config)


def test_an_unset_variable_is_an_error_when_strict(spec_file: Path, plugins: Plugins) -> None:
    text = VAULT.replace("API_KEY_VALUE", "${env:VAULT_API_KEY}")

    assert problems(spec_file, text, plugins, environ={"VAULT_URL": "https://v"}) == [
        "spec.yaml:9:16: environment variable VAULT_API_KEY is not set"
        " (at $.connections.v.config.api_key)",
        "spec.yaml:11:24: environment variable VAULT_REFRESH_TOKEN is not set"
        " (at $.connections.v.config.oauth.refresh_token)",
    ]


def test_an_unset_variable_is_a_warning_when_not_strict(spec_file: Path, plugins: Plugins) -> None:
    text = VAULT.replace("API_KEY_VALUE", "${env:VAULT_API_KEY}")

    spec = build(spec_file, text, plugins, environ={"VAULT_URL": "https://v"}, strict_env=False)

    shown = [w.replace(str(spec_file), "spec.yaml") for w in spec.warnings]
    assert [w for w in shown if "environment variable" in w] == [
        "spec.yaml:9:16: warning: environment variable VAULT_API_KEY is not set"
        " (needed when the spec runs) (at $.connections.v.config.api_key)",
        "spec.yaml:11:24: warning: environment variable VAULT_REFRESH_TOKEN is not set"
        " (needed when the spec runs) (at $.connections.v.config.oauth.refresh_token)",
    ]


def test_a_reference_in_an_expression_is_resolved_when_built(
    spec_file: Path, plugins: Plugins
) -> None:
    text = HEAD + (
        "  a:\n    from: crm.A\n    to: sdp.B\n    fields:\n"
        "      owner: \"Owner.id || '${env:DEFAULT_OWNER}'\"\n"
    )

    spec = build(spec_file, text, plugins, environ={"DEFAULT_OWNER": "u42"})

    assert assigns(sync_flow(spec, "a"), "target")["owner"]({}) == "u42"
    found = problems(spec_file, text, plugins, environ={})
    assert found == [
        "spec.yaml:11:14: environment variable DEFAULT_OWNER is not set (at $.flows.a.fields.owner)"
    ]


# ---- schedules ---------------------------------------------------------------------------


def test_cron_expressions_are_checked(spec_file: Path, plugins: Plugins) -> None:
    text = HEAD.replace("flows:\n", 'schedule: "61 * * * *"\nflows:\n') + (
        '  a:\n    from: crm.A\n    to: sdp.B\n    schedule: "0 2 * * 8"\n'
    )

    # Each at the field that is wrong, naming it and its range.
    assert problems(spec_file, text, plugins) == [
        "spec.yaml:6:12: '61 * * * *' is not a valid cron expression: minute 61 is out of"
        " range 0\u201359 (minute hour day month weekday) (at $.schedule)",
        "spec.yaml:11:24: '0 2 * * 8' is not a valid cron expression: day of week 8 is out of"
        " range 0\u20137 (minute hour day month weekday) (at $.flows.a.schedule)",
    ]


@pytest.mark.parametrize("cron", ["@daily", "0 2 * * *", "*/15 8-18 * * 1-5", "0 0,6,12,18 * * *"])
def test_valid_cron_expressions_build(spec_file: Path, plugins: Plugins, cron: str) -> None:
    text = HEAD.replace("flows:\n", f'schedule: "{cron}"\nflows:\n') + (
        "  a: {from: crm.A, to: sdp.B}\n"
    )

    assert build(spec_file, text, plugins).schedule == cron
