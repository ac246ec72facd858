"""Tables every service has besides its own: outbox, inbox, dead letters, idempotency keys.

Each service's first Alembic migration calls `create_platform_tables()`.
"""

from __future__ import annotations

PLATFORM_DDL = [
    """
    CREATE TABLE outbox (
        seq bigserial PRIMARY KEY,
        id uuid NOT NULL UNIQUE,
        subject text NOT NULL,
        body bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz
    )
    """,
    "CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at IS NULL",
    "CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL",
    # One NOTIFY per statement (not per row) wakes the relay as soon as events are committed.
    """
    CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('outbox', '');
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER outbox_written AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()
    """,
    """
    CREATE TABLE inbox (
        consumer text NOT NULL,
        event_id uuid NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer, event_id)
    )
    """,
    """
    CREATE TABLE dead_letters (
        id bigserial PRIMARY KEY,
        consumer text NOT NULL,
        event_id uuid,
        subject text NOT NULL,
        body bytea NOT NULL,
        error text NOT NULL,
        attempts integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE idempotency_keys (
        principal_id text NOT NULL,
        key text NOT NULL,
        method text NOT NULL,
        path text NOT NULL,
        status_code integer NOT NULL,
        response_body bytea NOT NULL,
        response_headers jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (principal_id, key)
    )
    """,
]

PLATFORM_DROP = [
    "DROP TABLE IF EXISTS idempotency_keys",
    "DROP TABLE IF EXISTS dead_letters",
    "DROP TABLE IF EXISTS inbox",
    "DROP TABLE IF EXISTS outbox",
    "DROP FUNCTION IF EXISTS outbox_notify()",
]


def create_platform_tables() -> None:
    from alembic import op

    for statement in PLATFORM_DDL:
        op.execute(statement)


def drop_platform_tables() -> None:
    from alembic import op

    for statement in PLATFORM_DROP:
        op.execute(statement)
