"""Operator commands of the registry, run by hand against its database (never by a request)."""
