"""personal_data_access_log partitioned by month (docs/operations.md "Partitioning at national scale").

The log grows with every read of a household's full record and is kept for a retention period: by
month, the partitions past it are dropped (DROP TABLE, instant) instead of deleted row by row. Months
are Vietnam months. A DEFAULT partition takes rows of a month whose partition does not exist yet, so a
late housekeeping run never refuses a read; `ensure_access_log_partitions` (run by the registry's
housekeeping worker) creates the coming months and moves such rows into their month.

Revision ID: registry_0007_log_by_month
Revises: registry_0006_dci
"""

from alembic import op

revision = "registry_0007_log_by_month"
down_revision = "registry_0006_dci"
branch_labels = None
depends_on = None

COLUMNS = "id, household_id, unit_path, principal_id, principal_role, action, unmasked, purpose, request_id, at"

ENSURE_PARTITIONS = """
CREATE OR REPLACE FUNCTION ensure_access_log_partitions(first_month date, months_ahead integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    month date := date_trunc('month', first_month)::date;
    last_month date := date_trunc('month', (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')
                                            + make_interval(months => months_ahead))::date;
    name text;
    low timestamptz;
    high timestamptz;
    created integer := 0;
BEGIN
    -- One at a time: every registry process runs this.
    PERFORM pg_advisory_xact_lock(hashtext('ensure_access_log_partitions'));
    WHILE month <= last_month LOOP
        name := 'personal_data_access_log_' || to_char(month, 'YYYY_MM');
        IF to_regclass(name) IS NULL THEN
            low := month::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh';
            high := (month + interval '1 month')::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh';
            EXECUTE format('CREATE TABLE %I (LIKE personal_data_access_log INCLUDING DEFAULTS)', name);
            -- Rows of that month that went to the default partition meanwhile move into it.
            EXECUTE format('WITH moved AS (DELETE FROM personal_data_access_log_default '
                           'WHERE at >= $1 AND at < $2 RETURNING *) INSERT INTO %I SELECT * FROM moved', name)
                USING low, high;
            EXECUTE format('ALTER TABLE personal_data_access_log ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                           name, low, high);
            created := created + 1;
        END IF;
        month := (month + interval '1 month')::date;
    END LOOP;
    RETURN created;
END $$
"""


def upgrade() -> None:
    op.execute("ALTER TABLE personal_data_access_log RENAME TO personal_data_access_log_plain")
    op.execute("ALTER TABLE personal_data_access_log_plain RENAME CONSTRAINT personal_data_access_log_pkey "
               "TO personal_data_access_log_plain_pkey")
    op.execute("DROP INDEX ix_personal_data_access_log_unit_at")
    op.execute("DROP INDEX ix_personal_data_access_log_household")
    op.execute("""
        CREATE TABLE personal_data_access_log (
            id uuid NOT NULL,
            household_id uuid NOT NULL,
            unit_path varchar(160) COLLATE "C" NOT NULL,
            principal_id varchar(100) NOT NULL,
            principal_role varchar(40),
            action varchar(24) NOT NULL DEFAULT 'read',
            unmasked boolean NOT NULL,
            purpose varchar(300),
            request_id varchar(128),
            at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (id, at)
        ) PARTITION BY RANGE (at)""")
    op.execute("CREATE TABLE personal_data_access_log_default PARTITION OF personal_data_access_log DEFAULT")
    op.execute("CREATE INDEX ix_personal_data_access_log_unit_at ON personal_data_access_log (unit_path, at)")
    op.execute("CREATE INDEX ix_personal_data_access_log_household ON personal_data_access_log (household_id)")
    op.execute(ENSURE_PARTITIONS)
    # Every month the log already holds, and the next three.
    op.execute("SELECT ensure_access_log_partitions(COALESCE((SELECT min(at) AT TIME ZONE 'Asia/Ho_Chi_Minh' "
               "FROM personal_data_access_log_plain), now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, 3)")
    op.execute(f"INSERT INTO personal_data_access_log ({COLUMNS}) SELECT {COLUMNS} FROM personal_data_access_log_plain")
    op.execute("DROP TABLE personal_data_access_log_plain")


def downgrade() -> None:
    op.execute("ALTER TABLE personal_data_access_log RENAME TO personal_data_access_log_by_month")
    op.execute("DROP INDEX ix_personal_data_access_log_unit_at")
    op.execute("DROP INDEX ix_personal_data_access_log_household")
    op.execute("""
        CREATE TABLE personal_data_access_log (
            id uuid PRIMARY KEY,
            household_id uuid NOT NULL,
            unit_path varchar(160) COLLATE "C" NOT NULL,
            principal_id varchar(100) NOT NULL,
            principal_role varchar(40),
            action varchar(24) NOT NULL DEFAULT 'read',
            unmasked boolean NOT NULL,
            purpose varchar(300),
            request_id varchar(128),
            at timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute("CREATE INDEX ix_personal_data_access_log_unit_at ON personal_data_access_log (unit_path, at)")
    op.execute("CREATE INDEX ix_personal_data_access_log_household ON personal_data_access_log (household_id)")
    op.execute(f"INSERT INTO personal_data_access_log ({COLUMNS}) "
               f"SELECT {COLUMNS} FROM personal_data_access_log_by_month")
    op.execute("DROP TABLE personal_data_access_log_by_month")  # its partitions with it
    op.execute("DROP FUNCTION ensure_access_log_partitions(date, integer)")
