"""Poverty indicators: figures, queries, unit resolution and scope, answers and exports."""
