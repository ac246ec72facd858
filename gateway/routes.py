"""The gateway's route table: every route the services expose through the gateway, with the
permission it needs and where it names units. A route missing here is refused (404) by the gateway,
and tests/gateway/test_platform.py fails when a service exposes a route this table lacks.

Unit codes in query parameters and JSON bodies (`unit`, `commune_code`, `parent`, … — see
`policy.UNIT_FIELDS`) are checked on every route; path parameters and route-specific query
parameters that hold unit codes are declared per rule.
"""

from __future__ import annotations

from gateway.proxy.rules import Rule
from shared import permissions as p

GET, POST, PATCH, PUT, DELETE = "GET", "POST", "PATCH", "PUT", "DELETE"

HH = ("household_id",)

RULES: list[Rule] = [
    # ---- every service: the principal it sees (any signed-in caller)
    *(Rule(GET, f"/{service}/principal", None) for service in ("registry", "support", "emulation", "reporting")),

    # ---- registry: administrative units (reads may name the ancestors of the scope: a commune
    # officer needs its district's and province's names; writes only inside the scope)
    Rule(GET, "/registry/units", p.UNITS_READ, query_units=("code",), ancestors_ok=True),
    Rule(GET, "/registry/units/{code}", p.UNITS_READ, unit_params=("code",), ancestors_ok=True),
    Rule(GET, "/registry/units/{code}/children", p.UNITS_READ, unit_params=("code",), ancestors_ok=True),
    Rule(GET, "/registry/units/{code}/successors", p.UNITS_READ, unit_params=("code",), ancestors_ok=True),
    Rule(PATCH, "/registry/units/{code}/flags", p.UNITS_FLAG, unit_params=("code",)),

    # ---- registry: classification
    Rule(POST, "/registry/classify", p.CLASSIFY),
    Rule(GET, "/registry/standards", p.CLASSIFY),

    # ---- registry: households, members, assessments, history (ids: the service filters by scope)
    Rule(POST, "/registry/households", p.HOUSEHOLDS_WRITE),
    Rule(GET, "/registry/households", p.HOUSEHOLDS_READ),
    Rule(GET, "/registry/households/{household_id}", p.HOUSEHOLDS_READ, id_params=HH),
    Rule(PATCH, "/registry/households/{household_id}", p.HOUSEHOLDS_WRITE, id_params=HH),
    Rule(DELETE, "/registry/households/{household_id}", p.HOUSEHOLDS_WRITE, id_params=HH),
    Rule(POST, "/registry/households/{household_id}/members", p.HOUSEHOLDS_WRITE, id_params=HH),
    Rule(PATCH, "/registry/households/{household_id}/members/{member_id}", p.HOUSEHOLDS_WRITE,
         id_params=(*HH, "member_id")),
    Rule(DELETE, "/registry/households/{household_id}/members/{member_id}", p.HOUSEHOLDS_WRITE,
         id_params=(*HH, "member_id")),
    Rule(GET, "/registry/households/{household_id}/history", p.HOUSEHOLDS_READ, id_params=HH),
    Rule(POST, "/registry/households/{household_id}/assessments", p.ASSESSMENTS_WRITE, id_params=HH),
    Rule(GET, "/registry/households/{household_id}/assessments", p.HOUSEHOLDS_READ, id_params=HH),
    Rule(GET, "/registry/households/{household_id}/assessments/{assessment_id}", p.HOUSEHOLDS_READ,
         id_params=(*HH, "assessment_id")),
    Rule(GET, "/registry/audit/access-log", p.AUDIT_READ),

    # ---- registry: annual and regular reviews, certificates
    Rule(POST, "/registry/reviews", p.REVIEWS_WRITE),
    Rule(GET, "/registry/reviews", p.REVIEWS_READ),
    Rule(GET, "/registry/reviews/{review_id}", p.REVIEWS_READ, id_params=("review_id",)),
    Rule(GET, "/registry/reviews/{review_id}/households", p.REVIEWS_READ, id_params=("review_id",)),
    Rule(POST, "/registry/reviews/{review_id}/assessments-recorded", p.REVIEWS_WRITE, id_params=("review_id",)),
    Rule(POST, "/registry/reviews/{review_id}/meetings", p.REVIEWS_WRITE, id_params=("review_id",)),
    Rule(POST, "/registry/reviews/{review_id}/posting", p.REVIEWS_WRITE, id_params=("review_id",)),
    Rule(POST, "/registry/reviews/{review_id}/decision", p.REVIEWS_APPROVE, id_params=("review_id",)),
    Rule(POST, "/registry/reviews/{review_id}/approve", p.REVIEWS_APPROVE, id_params=("review_id",)),
    Rule(GET, "/registry/certificates", p.REVIEWS_READ),
    Rule(POST, "/registry/regular-reviews", p.REVIEWS_WRITE),
    Rule(GET, "/registry/regular-reviews", p.REVIEWS_READ),
    Rule(GET, "/registry/regular-reviews/overdue", p.REVIEWS_READ),
    Rule(GET, "/registry/regular-reviews/{request_id}", p.REVIEWS_READ, id_params=("request_id",)),
    Rule(POST, "/registry/regular-reviews/{request_id}/decision", p.REVIEWS_APPROVE, id_params=("request_id",)),

    # ---- registry: bulk import (multipart upload streamed to the service, which checks every row)
    Rule(GET, "/registry/imports/template", None),
    Rule(POST, "/registry/imports", p.IMPORTS_WRITE, upload=True, timeout=600),
    Rule(GET, "/registry/imports", p.IMPORTS_WRITE),
    Rule(GET, "/registry/imports/{job_id}", p.IMPORTS_WRITE, id_params=("job_id",)),

    # ---- reporting
    Rule(GET, "/reporting/indicators/poverty", p.INDICATORS_READ, timeout=120),
    Rule(GET, "/reporting/indicators/poverty.csv", p.INDICATORS_READ, timeout=120),
    Rule(GET, "/reporting/indicators/poverty.xlsx", p.INDICATORS_READ, timeout=120),
    Rule(GET, "/reporting/status", p.INDICATORS_READ),
]
