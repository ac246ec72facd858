"""Settings of the reporting service: every variable starts with REPORTING_ (e.g. REPORTING_DATABASE_URL)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REPORTING_", extra="ignore")

    service_name: str = "reporting"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/chungtay_reporting"
    # Messages per consumer transaction. A bulk import's message carries 1,000 households (~400 KB),
    # so 50 messages = 50,000 rows per statement: the bench's fastest setting, ~200 MB peak memory.
    consumer_batch_size: int = 50
    # A folder of report templates provinces replace: <folder>/<province path>/bao-cao.docx, then
    # <folder>/bao-cao.docx; without one, the default of services/reporting/reports/templates.
    report_templates: str | None = None
    # Dashboards kept per process (dashboard/service.py `DashboardCache`: a province's is ~100 KB); 0: none.
    dashboard_cache_entries: int = 256
