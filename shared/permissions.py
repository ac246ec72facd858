"""Permissions and the roles that hold them: one catalogue the gateway and the services agree on.

A permission is `<service>.<resource>.<action>`. Deny by default: a route names the permission it
needs; a role holds only what is listed here. The gateway stores roles in its database seeded from
this table; services check permissions carried in the signed principal.
"""

from __future__ import annotations

# --- registry
UNITS_READ = "registry.units.read"
UNITS_FLAG = "registry.units.flag"  # set poor-district / "135" / ethnic / mountainous flags
HOUSEHOLDS_READ = "registry.households.read"
HOUSEHOLDS_WRITE = "registry.households.write"
PERSONAL_DATA_READ = "registry.personal_data.read"  # unmasked citizen IDs
ASSESSMENTS_WRITE = "registry.assessments.write"
REVIEWS_READ = "registry.reviews.read"
REVIEWS_WRITE = "registry.reviews.write"
REVIEWS_APPROVE = "registry.reviews.approve"
IMPORTS_WRITE = "registry.imports.write"
AUDIT_READ = "registry.audit.read"
CLASSIFY = "registry.classify"
# DCI Social Registry API (services/registry/dci): other government systems exchange messages; an
# administrator registers those systems (callback URLs, signing keys, which fields they receive).
DCI_EXCHANGE = "registry.dci.exchange"
DCI_ADMIN = "registry.dci.admin"
# --- reporting
INDICATORS_READ = "reporting.indicators.read"
REPORTING_ADMIN = "reporting.admin"
# Platform-wide counters (consumer lag, stream sequences, dead letters): operators only. No officer
# role holds it; `admin` does through "*".
OPERATIONS_READ = "reporting.operations.read"
# Periodic reports: read those of one's units and the units below; write (draft, edit, submit) those of
# one's own unit; approve (accept, return) those of the units that report to one's own unit.
REPORTS_READ = "reporting.reports.read"
REPORTS_WRITE = "reporting.reports.write"
REPORTS_APPROVE = "reporting.reports.approve"
# --- support / emulation (their issues will refine these)
SUPPORT_READ = "support.read"
SUPPORT_WRITE = "support.write"
EMULATION_READ = "emulation.read"
EMULATION_WRITE = "emulation.write"
EMULATION_APPRAISE = "emulation.appraise"
# --- gateway administration
ACCOUNTS_MANAGE = "gateway.accounts.manage"

_READ_ALL = {UNITS_READ, HOUSEHOLDS_READ, REVIEWS_READ, CLASSIFY, INDICATORS_READ, SUPPORT_READ, EMULATION_READ}
_OFFICER = _READ_ALL | {HOUSEHOLDS_WRITE, ASSESSMENTS_WRITE, REVIEWS_WRITE, IMPORTS_WRITE, SUPPORT_WRITE,
                        EMULATION_WRITE, PERSONAL_DATA_READ}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"*"}),
    "province_officer": frozenset(_OFFICER | {UNITS_FLAG, REVIEWS_APPROVE, AUDIT_READ, REPORTING_ADMIN}),
    "district_officer": frozenset(_OFFICER | {REVIEWS_APPROVE}),
    "commune_officer": frozenset(_OFFICER | {REVIEWS_APPROVE}),
    "surveyor": frozenset({UNITS_READ, HOUSEHOLDS_READ, HOUSEHOLDS_WRITE, ASSESSMENTS_WRITE, CLASSIFY}),
    "emulation_board": frozenset(_READ_ALL | {EMULATION_WRITE, EMULATION_APPRAISE}),
    "viewer": frozenset(_READ_ALL),
    "system_client": frozenset(_READ_ALL | {DCI_EXCHANGE}),
}

# --- reporting: who holds the periodic-report permissions. Officers of every level write their own
# unit's reports and approve those of the units below; everyone who reads indicators reads reports.
_REPORTING_GRANTS: dict[str, frozenset[str]] = {
    "province_officer": frozenset({REPORTS_READ, REPORTS_WRITE, REPORTS_APPROVE}),
    "district_officer": frozenset({REPORTS_READ, REPORTS_WRITE, REPORTS_APPROVE}),
    "commune_officer": frozenset({REPORTS_READ, REPORTS_WRITE, REPORTS_APPROVE}),
    "emulation_board": frozenset({REPORTS_READ}),
    "viewer": frozenset({REPORTS_READ}),
    "system_client": frozenset({REPORTS_READ}),
}
for _role, _granted in _REPORTING_GRANTS.items():
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | _granted

# --- support: the catalogue is reference data, changed by province officers (and admin), each entry by its owner;
# recording a delivery to a household whose status the programme does not serve needs the override,
# which district and province officers hold (the delivery is then flagged as an exception).
SUPPORT_CATALOGUE_WRITE = "support.catalogue.write"
SUPPORT_OVERRIDE = "support.eligibility.override"
_SUPPORT_GRANTS: dict[str, frozenset[str]] = {
    "province_officer": frozenset({SUPPORT_CATALOGUE_WRITE, SUPPORT_OVERRIDE}),
    "district_officer": frozenset({SUPPORT_OVERRIDE}),
}
for _role, _granted in _SUPPORT_GRANTS.items():
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | _granted
