"""Gateway settings: every variable starts with GATEWAY_ (Redis also answers to plain REDIS_URL).

What every service has (database, NATS, log level, pool, the principal's public key, consumers) comes
from `shared.settings.ServiceSettings`; what follows is the gateway's own.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from shared.services import SERVICES
from shared.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    service_name: str = "gateway"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/chungtay_gateway"
    consumer_batch_size: int = 1000  # unit events come in bursts of thousands (a load of every unit)
    # Ed25519 key pair the gateway signs forwarded principals with (services hold the public half).
    principal_private_key: str = ""
    principal_ttl_seconds: int = 60
    keys_dir: str = ".data/keys"
    # One base URL per service of shared.services.SERVICES: GATEWAY_UPSTREAM_<SERVICE>.
    upstream_registry: str = "http://127.0.0.1:8101"
    upstream_support: str = "http://127.0.0.1:8102"
    upstream_emulation: str = "http://127.0.0.1:8103"
    upstream_reporting: str = "http://127.0.0.1:8104"

    # --- tokens (ES256 access tokens with a kid; opaque rotating refresh tokens)
    token_issuer: str = "chungtay-gateway"
    token_audience: str = "chungtay-api"
    access_token_ttl_seconds: int = 600
    client_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 14 * 24 * 3600
    session_max_seconds: int = 30 * 24 * 3600  # a refresh family never outlives this
    key_rotation_days: int = 30
    # 32 bytes (base64 or hex): the token signing keys' private halves are stored encrypted with it
    # (AES-256-GCM). Empty: stored unencrypted, with a warning at every start (set-ups made before it).
    signing_key_encryption_key: str = ""
    # The encryption key being replaced: rows it opens are re-sealed under the new one at start.
    signing_key_encryption_key_previous: str = ""
    key_reload_seconds: float = 60.0
    revocation_poll_seconds: float = 1.0

    # --- passwords and failed logins
    # OWASP's argon2id baseline (19 MiB, 2 passes): about 50 ms a login on this machine.
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19456
    argon2_parallelism: int = 1
    login_max_failures: int = 5
    login_lockout_seconds: int = 300  # doubles with every further lockout, up to the max
    login_lockout_max_seconds: int = 3600
    password_min_length: int = 8

    # --- rate limits (Redis when set, so replicas share them; in process otherwise)
    redis_url: str = Field(default="", validation_alias=AliasChoices("GATEWAY_REDIS_URL", "REDIS_URL"))
    token_requests_per_ip_per_minute: int = 30
    requests_per_principal_per_minute: int = 6000  # 0 disables
    trust_forwarded_for: bool = False  # behind a trusted ingress: take the client IP from X-Forwarded-For

    # --- /metrics: with a token, only `Authorization: Bearer <token>`; without one, loopback clients only
    metrics_token: str = ""

    # --- proxy
    cors_origins: str = ""  # comma-separated web origins allowed to call the API from browsers
    max_json_body_bytes: int = 2 * 1024 * 1024  # JSON bodies are read and inspected for unit codes
    max_upload_bytes: int = 200 * 1024 * 1024  # streamed uploads (routes that declare them)
    upstream_timeout_seconds: float = 30.0
    upstream_connect_timeout_seconds: float = 3.0
    upstream_pool_size: int = 512
    # How often the services' OpenAPI documents (their route tables, gateway/openapi/service.py) are
    # read again; a request finding no route also has them read again, at most every 2 s.
    openapi_refresh_seconds: float = Field(default=10.0, validation_alias=AliasChoices(
        "GATEWAY_OPENAPI_REFRESH_SECONDS", "GATEWAY_OPENAPI_CACHE_SECONDS", "openapi_refresh_seconds"))

    # --- unit directory (from registry.unit.changed)
    directory_refresh_seconds: float = 5.0

    def upstream(self, service: str) -> str:
        return str(getattr(self, f"upstream_{service}")).rstrip("/")

    @property
    def upstreams(self) -> dict[str, str]:
        """The base URL of every service the gateway forwards to."""
        return {service: self.upstream(service) for service in SERVICES}

    @property
    def cors_origin_set(self) -> frozenset[str]:
        return frozenset(o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip())
