"""Households, members, assessments, change history and the personal-data access log."""
