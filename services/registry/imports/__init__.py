"""Bulk import of a commune's household list from CSV or XLSX (issue 3 item 5).

Reading order: `columns` (the canonical columns and the template), `upload` (the multipart upload
spooled to disk under a size limit), `reader` (streaming CSV/XLSX rows), `validation` (one row →
values or (row, column, reason) errors), `storage` (COPY into the household tables), `runner` (the
job: batches, lookups, classification, events, progress), `endpoints` (the HTTP API).
"""
