"""The hub's settings: one object, read from the environment at the edge (the CLI, Airflow's
task bodies, the API's `app_from_env`) and passed down as an argument everywhere else.

Rooms below the edge (`yiwang.store`, `yiwang.night`, `yiwang.api`'s routes) never read the
environment; `tests/test_layout.py` holds them to that.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from yiwang.night.options import NightOptions


class Settings(BaseSettings):
    """Every `YIWANG_*` variable the runtime reads, typed and described."""

    model_config = SettingsConfigDict(env_prefix="YIWANG_", frozen=True, extra="ignore")

    data_dir: Path = Field(
        Path("data"),
        description="where Yiwang keeps its files: world cache, landing, the embedded database",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the store; default the SQLite file `<data_dir>/yiwang.db`",
    )
    kept_dir: Path | None = Field(
        None,
        description="validated streams kept between nights, default `<data_dir>/validated`: a "
        "cache, safe to delete (the next night then validates every record again)",
    )
    gate_beside: bool = Field(
        True,
        description="run the quality gate in a process beside snapshot and publishing (`0`: in "
        "the night's own process, in turn)",
    )
    ledger_heads: Path | None = Field(
        None,
        description="file each publish and withdrawal appends its ledger head to, outside the "
        "database, so `yiwang verify --heads` can tell a rewritten ledger",
    )
    night_lock_wait_s: float | None = Field(
        None,
        description="seconds a step waits for another night's hold on the store (unset: the "
        "caller's default, 0 for the CLI, an hour for Airflow's tasks)",
    )
    api_token_sha256: SecretStr = Field(
        SecretStr(""),
        description="comma-separated SHA-256 digests of the API's bearer tokens",
    )
    api_cache_mb: int = Field(
        256, ge=0, description="rendered response bodies kept per API process, MB"
    )
    session_secret: SecretStr | None = Field(
        None,
        description="key that signs the console's session cookies; `yiwang serve` makes one for "
        "its workers when unset (sessions then end when the server restarts)",
    )
    console_tiles: str | None = Field(
        None,
        description="tile URL template (`https://…/{z}/{x}/{y}.png`, WGS 84 / Web Mercator) the "
        "console's map draws beneath its layers; unset, the map needs no tile server",
    )
    reader_password: SecretStr | None = Field(
        None, description="password of the read-only PostgreSQL role `yiwang db reader` creates"
    )
    sync_schedule: str = Field(
        "0 1 * * *",
        description="cron (Asia/Shanghai) of the sync DAGs, or `none` when triggered from outside",
    )
    worker_name: str | None = Field(
        None, description="this worker's name in the store lock (default the host's FQDN)"
    )

    @field_validator("data_dir", "kept_dir", "ledger_heads", mode="after")
    @classmethod
    def _absolute(cls, path: Path | None) -> Path | None:
        return path.resolve() if path is not None else None

    @field_validator(
        "kept_dir", "ledger_heads", "database_url", "worker_name", "night_lock_wait_s",
        "session_secret", "console_tiles", mode="before",
    )  # fmt: skip
    @classmethod
    def _blank_is_unset(cls, value):
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("gate_beside", mode="before")
    @classmethod
    def _blank_is_no(cls, value):
        return False if isinstance(value, str) and not value.strip() else value

    @property
    def kept(self) -> Path:
        return self.kept_dir or self.data_dir / "validated"

    @property
    def quality_dir(self) -> Path:
        """Where the quality gate writes its Data Docs, which the CLI and the API point to."""
        return self.data_dir / "quality"

    @property
    def landing_dir(self) -> Path:
        """Where pages land raw, a folder per run."""
        return self.data_dir / "landing"

    def lock_wait_s(self, default: float = 0.0) -> float:
        """`night_lock_wait_s`, else the caller's `default` (0 for the CLI, an hour for
        Airflow's tasks)."""
        return default if self.night_lock_wait_s is None else self.night_lock_wait_s

    def night_options(self, lock_wait_s: float = 0.0) -> NightOptions:
        """What a night takes of these settings; `lock_wait_s` as for `lock_wait_s()`."""
        return NightOptions(
            kept=self.kept,
            gate_beside=self.gate_beside,
            ledger_heads=self.ledger_heads,
            lock_wait_s=self.lock_wait_s(lock_wait_s),
        )

    @property
    def store_url(self) -> str:
        """The store's URL; the embedded SQLite file (its folder made) when none is set."""
        if self.database_url:
            return self.database_url
        path = self.data_dir / "yiwang.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"

    @property
    def token_digests(self) -> set[str]:
        raw = self.api_token_sha256.get_secret_value()
        return {d.strip().lower() for d in raw.split(",") if d.strip()}


def from_environment() -> Settings:
    """The settings as the environment gives them: call at the edge only."""
    return Settings()
