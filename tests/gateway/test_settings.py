"""The gateway's settings: what every service has comes from ServiceSettings, and every service of
the platform has an upstream."""

from __future__ import annotations

from gateway.settings import GatewaySettings
from shared.services import SERVICES
from shared.settings import ServiceSettings


def test_every_service_has_an_upstream_and_the_common_settings_are_shared() -> None:
    settings = GatewaySettings(upstream_support="http://10.0.0.5:9000/")
    assert list(settings.upstreams) == list(SERVICES)
    assert settings.upstreams["support"] == "http://10.0.0.5:9000"
    assert isinstance(settings, ServiceSettings) and settings.database_url.endswith("/chungtay_gateway")


def test_the_old_name_of_the_refresh_setting_is_still_read(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GATEWAY_OPENAPI_CACHE_SECONDS", "7")
    assert GatewaySettings().openapi_refresh_seconds == 7.0
    monkeypatch.setenv("GATEWAY_OPENAPI_REFRESH_SECONDS", "4")
    assert GatewaySettings().openapi_refresh_seconds == 4.0
