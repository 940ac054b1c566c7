"""The tickets service: the only code that writes the ticket and archive tables. Other domains (the
catalogue's service orders) open and move tickets through `create_ticket` and `transition`."""

from careclub.tickets.service._access import actors, people_with, role_holders
from careclub.tickets.service._guards import register_actor_source, register_follower, register_guard, signed_off
from careclub.tickets.service._lists import list_tickets, queue_counts, resident_counts
from careclub.tickets.service._residents import person_of, resident_units
from careclub.tickets.service._sla import send_digests, watch
from careclub.tickets.service._tickets import (
    StaleState,
    TransitionNotAllowed,
    add_comment,
    add_work,
    create_ticket,
    legs,
    load,
    names,
    options,
    overdue,
    readable,
    save_checklist,
    timeline,
    transition,
)
from careclub.tickets.service._types import (
    builtin_spec,
    calendar_overrides,
    calendar_settings,
    ensure_builtin_types,
    flow_of,
    get_type,
    list_types,
    save_calendar,
    save_type,
    set_calendar_day,
    type_by_code,
    work_calendar,
)

__all__ = [
    "StaleState", "TransitionNotAllowed", "actors", "add_comment", "add_work", "builtin_spec", "calendar_overrides",
    "calendar_settings", "create_ticket", "ensure_builtin_types", "flow_of", "get_type", "legs", "list_tickets",
    "list_types", "load", "names", "options", "overdue", "people_with", "person_of", "queue_counts", "readable",
    "register_actor_source", "register_follower", "register_guard", "resident_counts", "resident_units", "role_holders",
    "save_calendar", "save_checklist",
    "save_type", "send_digests", "set_calendar_day", "signed_off", "timeline", "transition", "type_by_code", "watch",
    "work_calendar",
]

# the customer archive (buildings, units, people, their ties and records; the import)
from careclub.tickets.service._archive import (
    add_record,
    create_building,
    create_person,
    create_unit,
    end_occupancy,
    ensure_building,
    ensure_occupancy,
    ensure_person,
    ensure_unit,
    link_person,
    update_building,
    update_person,
    update_unit,
)
from careclub.tickets.service._archive_import import import_units
from careclub.tickets.service._archive_read import (
    get_building,
    get_occupancy,
    get_person,
    get_project,
    get_record,
    get_unit,
    list_buildings,
    person_archive,
    person_count,
    person_list,
    projects_in_scope,
    unit_archive,
    unit_count,
    unit_list,
)

__all__ += [
    "add_record", "create_building", "create_person", "create_unit", "end_occupancy", "ensure_building",
    "ensure_occupancy", "ensure_person", "ensure_unit", "get_building", "get_occupancy", "get_person", "get_project",
    "get_record", "get_unit", "import_units", "link_person", "list_buildings", "person_archive", "person_count",
    "person_list", "projects_in_scope", "unit_archive", "unit_count", "unit_list", "update_building",
    "update_person", "update_unit",
]
