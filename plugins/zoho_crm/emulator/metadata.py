"""Metadata answers (§4.3), made from the catalogue: /settings/modules, /settings/fields,
/settings/related_lists. Zoho sends many keys nobody reads; they are here because Zoho's
OpenAPI files mark them required, with the values a plain org has."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrate import Reply
from integrate_zoho_crm.emulator.catalogue import LAYOUT as RECORD_LAYOUT
from integrate_zoho_crm.emulator.catalogue import (
    MODULES,
    ORG,
    UI_TYPES,
    Field,
    Module,
    module_named,
)
from integrate_zoho_crm.emulator.convert import TO_ACCOUNT, TO_CONTACT
from integrate_zoho_crm.emulator.errors import INVALID_MODULE, ZohoError, missing_param
from integrate_zoho_crm.emulator.org import Org

PROFILES = [
    {"name": "Administrator", "id": f"{ORG}000000031151"},
    {"name": "Standard", "id": f"{ORG}000000031157"},
]
LAYOUT = {"api_name": "Standard", **RECORD_LAYOUT}
DATA_TYPES = {"tag": "text", "participants": "multiselectlookup"}


def _lookup(field: Field) -> dict[str, Any]:
    target = field.lookup
    if field.data_type != "lookup" or target is None:
        return {}
    if target == "*":
        return {}
    return {
        "display_label": field.label,
        "api_name": field.api_name,
        "module": {"api_name": target, "id": MODULES[target].id},
        "id": field.id,
    }


def _convert_mapping(module: Module, field: Field) -> dict[str, str | None]:
    if module.api_name != "Leads":
        return {"Contacts": None, "Deals": None, "Accounts": None}
    return {
        "Contacts": TO_CONTACT.get(field.api_name),
        "Deals": None,
        "Accounts": TO_ACCOUNT.get(field.api_name),
    }


def field_meta(module: Module, field: Field, index: int, unique: bool) -> dict[str, Any]:
    writable = not field.read_only
    decimals = field.data_type in ("double", "currency")
    return {
        "associated_module": None,
        "webhook": True,
        "operation_type": {
            "web_update": writable,
            "api_create": writable,
            "web_create": writable,
            "api_update": writable,
        },
        "colour_code_enabled_by_system": False,
        "field_label": field.label,
        "tooltip": None,
        "type": "used",
        "field_read_only": field.read_only,
        "customizable_properties": [],
        "display_label": field.label,
        "read_only": field.read_only,
        "association_details": None,
        "businesscard_supported": True,
        "multi_module_lookup": {},
        "id": field.id,
        "created_time": None,
        "filterable": True,
        "visible": True,
        "refer_from_field": None,
        "profiles": [
            {
                "permission_type": "read_write" if writable else "read_only",
                "name": p["name"],
                "id": p["id"],
            }
            for p in PROFILES
        ],
        "view_type": {
            "view": True,
            "edit": writable,
            "quick_create": field.system_mandatory,
            "create": writable,
        },
        "separator": False,
        "searchable": field.data_type not in ("textarea", "tag", "participants"),
        "external": None,
        "api_name": field.api_name,
        "unique": {"casesensitive": False} if unique else {},
        "enable_colour_code": False,
        "pick_list_values": [
            {
                "display_value": value,
                "actual_value": value,
                "id": f"{field.id[:13]}{index:03d}{n:03d}",
                "sequence_number": n + 1,
                "colour_code": None,
                "type": "used",
            }
            for n, value in enumerate(field.picklist)
        ],
        "system_mandatory": field.system_mandatory,
        "virtual_field": False,
        "json_type": field.json_type,
        "crypt": None,
        "created_source": "custom" if field.custom_field else "default",
        "display_type": -1,
        "ui_type": UI_TYPES[field.data_type],
        "modified_time": None,
        "email_parser": {"fields_update_supported": False, "record_operations_supported": False},
        "currency": {"rounding_option": "normal", "precision": 2}
        if field.data_type == "currency"
        else {},
        "custom_field": field.custom_field,
        "lookup": _lookup(field),
        "convert_mapping": _convert_mapping(module, field),
        "rollup_summary": {},
        "length": field.length,
        "display_field": field.api_name == module.display_field,
        "pick_list_values_sorted_lexically": False,
        "sortable": field.data_type not in ("textarea", "tag", "participants"),
        "history_tracking": None,
        "data_type": DATA_TYPES.get(field.data_type, field.data_type),
        "formula": {},
        "decimal_place": 2 if decimals else None,
        "mass_update": writable,
        "multiselectlookup": {},
        "multiuserlookup": None,
        "auto_number": {},
        "autonumber": None,
        "sequence_number": index + 1,
        "blueprint_supported": False,
        "available_in_user_layout": True,
        "layout_associations": [dict(LAYOUT)],
        "column_name": field.api_name.upper(),
        "quick_sequence_number": str(index + 1),
        "show_type": 7,
        "category": 0,
        "sharing_properties": None,
        "file_upolad_optionlist": [],
        "sub_module": None,
        "subform": None,
        "private": None,
        "allowed_modules": [],
        "additional_column": None,
        "common.picklist": None,
        "hipaa_compliance_enabled": False,
        "hipaa_compliance": None,
        "_update_existing_records": False,
        "number_separator": False,
        "textarea": {"type": "large"} if field.data_type == "textarea" else None,
        "static_field": False,
    }


def related_list_meta(module: Module) -> list[dict[str, Any]]:
    return [
        {
            "id": rel.id,
            "sequence_number": str(n + 1),
            "display_label": rel.api_name,
            "api_name": rel.api_name,
            "module": {"api_name": rel.module, "id": MODULES[rel.module].id},
            "name": rel.api_name,
            "action": None,
            "href": f"{module.api_name}/{{ENTITYID}}/{rel.api_name}",
            "type": "default",
            "visible": True,
            "customize_sort": False,
            "customize_fields": False,
            "customize_display_label": False,
            "sort_by": None,
            "sort_order": None,
            "fields": [],
            "status": "visible",
        }
        for n, rel in enumerate(module.related)
    ]


def module_meta(module: Module, *, detailed: bool = False) -> dict[str, Any]:
    plural = module.plural
    display = module.by_name.get(module.display_field)
    api = module.api_name != "Attachments"
    return {
        "has_more_profiles": False,
        "sub_menu_available": True,
        "common.search_supported": api,
        "deletable": False,
        "description": None,
        "creatable": api,
        "recycle_bin_on_delete": True,
        "inventory_template_supported": False,
        "modified_time": None,
        "plural_label": plural,
        "presence_sub_menu": False,
        "triggers_supported": api,
        "id": module.id,
        "chart_view": False,
        "isBlueprintSupported": api,
        "visibility": 1,
        "visible": True,
        "convertable": module.convertable,
        "editable": api,
        "emailTemplate_support": module.api_name in ("Leads", "Contacts", "Accounts", "Deals"),
        "email_parser_supported": False,
        "filter_supported": api,
        "show_as_tab": api,
        "web_link": None,
        "sequence_number": module.sequence,
        "singular_label": module.singular,
        "viewable": True,
        "api_supported": api,
        "api_name": module.api_name,
        "quick_create": api,
        "generated_type": "default",
        "feeds_required": False,
        "scoring_supported": module.api_name in ("Leads", "Contacts", "Accounts", "Deals"),
        "webform_supported": module.api_name in ("Leads", "Contacts"),
        "arguments": [],
        "module_name": plural,
        "chart_view_supported": True,
        "profile_count": len(PROFILES),
        "business_card_field_limit": 5,
        "track_current_data": False,
        "modified_by": None,
        "profiles": [dict(p) for p in PROFILES],
        "parent_module": {},
        "activity_badge": None,
        "$field_states": [],
        "business_card_fields": [],
        "per_page": 200,
        "$properties": [],
        "$on_demand_properties": [],
        "search_layout_fields": [],
        "kanban_view_supported": api,
        "lookup_field_properties": {"fields": []},
        "kanban_view": False,
        "related_lists": related_list_meta(module) if detailed else [],
        "filter_status": True,
        "related_list_properties": {"sort_by": None, "fields": [], "sort_order": None},
        "display_field": {"api_name": display.api_name, "id": display.id} if display else None,
        "layouts": [],
        "fields": [],
        "custom_view": None,
        "zia_view": False,
        "default_mapping_fields": [],
        "static_subform_properties": {"fields": []},
        "layout_associations": [dict(LAYOUT)],
        "status": "visible",
    }


def modules(name: str | None, catalogue: Mapping[str, Module]) -> Reply:
    """GET /settings/modules and /settings/modules/{api_name}, of the org's `catalogue`."""
    if name is None:
        return Reply(200, {"modules": [module_meta(m) for m in catalogue.values()]})
    module = module_named(name, catalogue)
    if module is None:
        raise ZohoError(400, "INVALID_MODULE", INVALID_MODULE, {"resource_path_index": 2})
    return Reply(200, {"modules": [module_meta(module, detailed=True)]})


def _module_param(args: Mapping[str, str], catalogue: Mapping[str, Module]) -> Module:
    name = args.get("module")
    if not name:
        raise missing_param("module")
    module = module_named(name, catalogue)
    if module is None:
        raise ZohoError(400, "INVALID_MODULE", INVALID_MODULE, {"api_name": "module"})
    return module


def fields(args: Mapping[str, str], org: Org, field_id: str | None = None) -> Reply:
    """GET /settings/fields?module=X (and /settings/fields/{id}?module=X)."""
    module = _module_param(args, org.store.modules)
    if args.get("type") == "unused":
        return Reply(204)
    chosen = org.unique.get(module.api_name, set())
    answer = [
        field_meta(module, f, i, f.api_name in chosen)
        for i, f in enumerate(module.fields)
        if field_id is None or f.id == field_id
    ]
    if not answer:
        return Reply(204)
    return Reply(200, {"fields": answer})


def related_lists(args: Mapping[str, str], catalogue: Mapping[str, Module]) -> Reply:
    """GET /settings/related_lists?module=X."""
    module = _module_param(args, catalogue)
    answer = related_list_meta(module)
    if not answer:
        return Reply(204)
    return Reply(200, {"related_lists": answer})
