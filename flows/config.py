"""Typed run configuration: a YAML file in ``config/`` plus ``REPLENISH_*`` environment overrides.

Secrets (database passwords, API tokens, webhook keys) are never read from the YAML file: the
file names the environment variable that holds them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from flows.errors import UserError
from forecasting.config import ForecastConfig
from replenishment.config import PlanningConfig

__all__ = [
    "ApprovalSettings",
    "ConfigError",
    "DataSource",
    "ExecutionSettings",
    "FlowSettings",
    "NotifySettings",
    "NotifyTarget",
    "NotifyTeam",
    "PurchaseOrderSettings",
    "ScheduleSettings",
    "Settings",
    "SmtpSettings",
    "SupplierMailSettings",
    "TableFormat",
    "WorkbenchSettings",
    "load_settings",
]


class ConfigError(UserError, ValueError):
    """A configuration file that cannot be used; the message names the file and the field."""


class TableFormat(BaseModel):
    """How one table's file is written when it is not ``NAME.csv`` in the contract's words:
    an ERP export's file name, encoding, sheet and column names (docs/data-contract.md)."""

    model_config = ConfigDict(extra="forbid")

    file: str | None = Field(None, description="File in data.folder holding this table "
                             "(e.g. 销售明细.xlsx); default NAME.csv/.parquet/.xlsx/.xls.")
    encoding: str | None = Field(None, description="CSV encoding (utf-8, gb18030, gbk); "
                                 "default: detected (UTF-8 with or without BOM, else GB18030).")
    sheet: str | None = Field(None, description="Excel sheet to read (default: the first).")
    columns: dict[str, str] = Field(default_factory=dict, description="The file's column -> "
                                    "the contract's column, e.g. {销售日期: date, 商品编码: sku}.")


class DataSource(BaseModel):
    """Where a run's dataset comes from. ``folder`` and ``sql_url`` are alternatives."""

    folder: Path | None = Field(None, description="Folder of NAME.csv / NAME.parquet tables.")
    preset: Literal["jushuitan", "wangdiantong"] | None = Field(
        None, description="Column names of a common ERP export layout (聚水潭 jushuitan, 旺店通 "
        "wangdiantong; see docs/data-contract.md); data.tables.NAME.columns add to it.")
    tables: dict[str, TableFormat] = Field(
        default_factory=dict, description="Per table: file, encoding, sheet, column mapping.")
    sql_url_env: str | None = Field(
        None, description="Environment variable holding a SQLAlchemy URL to read tables from."
    )
    signals_url: str | None = Field(None, description="HTTP JSON API for promotions/livestreams.")
    signals_token_env: str = "REPLENISH_SIGNALS_TOKEN"
    signals_timeout_s: float = 10.0
    signals_retries: int = 3
    signals_tables: tuple[str, ...] = Field(
        ("promotions", "livestreams"), description="Tables read from the signals API."
    )
    signals_use_last_good: bool = Field(
        False, description="When the signals API is down, use its last good rows with a warning."
    )
    signals_max_pages: int = Field(1_000, ge=1, description="Pages read per signals table.")
    signals_max_mb: float = Field(50.0, gt=0, description="JSON read per signals table (MB).")
    signals_max_seconds: float = Field(
        120.0, gt=0, description="Time paging through one signals table may take (retries too)."
    )
    signals_min_rows_ratio: float = Field(
        0.5, ge=0, le=1, description="Refuse an answer with fewer rows than this share of the "
        "last good rows (an empty answer included); 0 accepts any answer."
    )


Severity = Literal["critical", "high", "medium", "low"]


class NotifyTarget(BaseModel):
    """One Apprise target: a URL (``${NAME}`` placeholders read from the environment) or the
    name of an environment variable holding the whole URL. A bare string in YAML is a URL."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(None, description="Apprise URL, e.g. 'dingtalk://${DINGTALK_TOKEN}/'.")
    url_env: str | None = Field(None, description="Environment variable holding the whole URL.")
    name: str | None = Field(None, description="Label for logs and the ledger (no secrets).")

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"url": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_source(self) -> NotifyTarget:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of 'url' or 'url_env'")
        return self


class NotifyTeam(BaseModel):
    """A team and where its digest goes. A team listing no categories and no suppliers gets
    the alerts no other team claims."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    urls: list[NotifyTarget] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    suppliers: list[str] = Field(default_factory=list)
    min_severity: Severity = "low"


class SmtpSettings(BaseModel):
    """An SMTP server. The login's user and password are read from the named variables."""

    model_config = ConfigDict(extra="forbid")

    host: str = "localhost"
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username_env: str | None = None
    password_env: str | None = None
    timeout_s: float = Field(30.0, gt=0)
    allow_plaintext_password: bool = Field(
        False, description="Allow logging in with a password over 'security: none' (sent in "
        "clear; a warning is logged each time). Refused otherwise.")


class SupplierMailSettings(BaseModel):
    """E-mailing each supplier its order and order forecast CSVs."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    dry_run: bool = Field(True, description="Write .eml files instead of sending.")
    sender: str = Field("", description="From address; required to send.")
    cc: list[str] = Field(default_factory=list)
    reply_to: str | None = None
    subject: str = Field("{brand}: purchase order {as_of} ({supplier})",
                         description="Fields: brand, as_of, supplier, supplier_name.")
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    attempts: int = Field(3, ge=1)
    backoff_s: float = Field(2.0, ge=0)


class PurchaseOrderSettings(BaseModel):
    """The ``purchase_orders:`` section: what each supplier's order file says."""

    model_config = ConfigDict(extra="forbid")

    ship_to: str = Field("", description="Delivery address printed on every purchase order.")
    number_prefix: str = Field("PO", pattern=r"^[A-Za-z0-9]{1,8}$",
                               description="PO numbers read PREFIX-YYYYMMDD-SUPPLIER.")
    forecast_weeks: int = Field(13, ge=0, le=52,
                                description="Weeks of order forecast on the second sheet.")
    share_stock_with: list[str] = Field(
        default_factory=list, description="Suppliers (CPFR partners; '*' for all) whose files "
        "also show on hand, on order, safety stock, reorder point and projected stock.")


class ApprovalSettings(BaseModel):
    """The ``approval:`` section: which proposed order lines a run approves by itself (none
    by default: every line waits for a planner), and when a supplier's silence or a line's
    gap becomes an exception (flows/storage/orderbook.py, replenishment/cpfr.py)."""

    model_config = ConfigDict(extra="forbid")

    auto_approve_below: float | None = Field(
        None, gt=0, description="Approve a proposed line whose amount (qty x unit cost) is "
        "below this (unset: no line is approved by amount).")
    trusted_suppliers: list[str] = Field(
        default_factory=list, description="Suppliers whose proposed lines are approved as "
        "they are proposed.")
    unconfirmed_after_days: int = Field(
        3, ge=0, description="A sent line the supplier has not answered after this many days "
        "is an exception.")
    tolerance_share: float = Field(
        0.0, ge=0, lt=1, description="A confirmed quantity within this share of the order is "
        "neither short nor over.")


class WorkbenchSettings(BaseModel):
    """The ``workbench:`` section of ``replenish ui``: the login it asks for when it listens
    beyond loopback (user and password read from the named environment variables)."""

    model_config = ConfigDict(extra="forbid")

    user_env: str = Field("REPLENISH_UI_USER", description="Variable holding the login name.")
    password_env: str = Field("REPLENISH_UI_PASSWORD",
                              description="Variable holding the login password.")


class NotifySettings(BaseModel):
    """The ``notify:`` section: alert digests per team and supplier e-mail."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    teams: list[NotifyTeam] = Field(default_factory=list)
    top_n: int = Field(10, ge=1, description="Alerts listed in a digest (the rest are counted).")
    link_base_url: str | None = Field(
        None, description="URL of the output folder, so links in a digest open in a browser."
    )
    attempts: int = Field(3, ge=1, description="Tries per target before a failure is reported.")
    backoff_s: float = Field(2.0, ge=0, description="First wait between tries (doubles).")
    backoff_max_s: float = Field(30.0, ge=0)
    timeout_s: float = Field(10.0, gt=0, description="Connect and read timeout per request.")
    supplier_mail: SupplierMailSettings = Field(default_factory=SupplierMailSettings)


class ScheduleSettings(BaseModel):
    """The ``schedule:`` section: when ``replenish serve`` runs the planning flow."""

    model_config = ConfigDict(extra="forbid")

    cron: str = Field("0 6 * * *", description="Cron expression (minute hour day month weekday).")
    timezone: str | None = Field(
        None, description="IANA time zone the cron is read in (default: the top-level timezone)."
    )

    @model_validator(mode="after")
    def _check(self) -> ScheduleSettings:
        if len(self.cron.split()) not in (5, 6):
            raise ValueError(f"cron {self.cron!r}: expected 5 fields, e.g. '0 6 * * *'")
        if self.timezone is not None:
            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError) as err:
                raise ValueError(f"timezone {self.timezone!r}: not an IANA time zone") from err
        return self


class FlowSettings(BaseModel):
    """The ``flow:`` section: retries, time limits and result cache of the planning flow."""

    model_config = ConfigDict(extra="forbid")

    source_retries: int = Field(3, ge=0, description="Retries of a source that fails to read.")
    source_retry_delay_s: float = Field(
        10.0, ge=0, description="First wait before a source is retried (doubles each retry).")
    source_timeout_s: float = Field(600.0, gt=0, description="Time limit of one source read.")
    stage_timeout_s: float = Field(
        3600.0, gt=0, description="Time limit of one computing stage (validate, forecast, ...).")
    result_storage: Path | None = Field(
        None, description="Folder of cached stage results (default: PREFECT_HOME/storage); "
        "relative to the working directory.")
    cache_days: float = Field(7.0, gt=0, description="How long a cached stage result is reused.")


class ExecutionSettings(BaseModel):
    """The ``execution:`` section: where the forecast runs. Not a property of the forecast
    (the results are the same either way), so it lives here rather than in ``forecast:``."""

    model_config = ConfigDict(extra="forbid")
    engine: Literal["local", "dask"] = Field(
        "local", description="local: this process; dask: per-series models on a Dask cluster "
        "and the flow's computing stages on its workers (see docs/scale-out.md).")
    dask_address: str | None = Field(
        None, description="Dask scheduler (tcp://host:8786) for engine 'dask'; unset: a local "
        "cluster with one worker per core.")
    threads: int = Field(-1, description="LightGBM threads (-1: all cores).")


class Settings(BaseSettings):
    """Everything a run needs. Relative paths are relative to the config file's folder."""

    model_config = SettingsConfigDict(
        env_prefix="REPLENISH_", env_nested_delimiter="__", extra="forbid"
    )

    brand: str = "My brand"
    timezone: str = "Asia/Shanghai"
    locale: Literal["en", "zh_CN"] = Field(
        "en", description="Language of every text planners and suppliers read (report, digest, "
        "alerts, terminal summary, supplier e-mail and files): en or zh_CN.")
    data: DataSource = Field(default_factory=DataSource)
    calendar: Literal["cn", "off"] = Field(
        "cn", description="cn: Chinese statutory holidays, make-up workdays (调休) and platform "
        "festivals with their presales become events rows (the user's events win); off: only "
        "the user's events.")
    calendar_file: Path | None = Field(
        None, description="The platform festival calendar (default: config/calendar_cn.yaml "
        "of the project); relative to the project root.")
    store_url: str = Field(
        "sqlite:///.replenish/runs.db", description="Run store: SQLAlchemy URL (SQLite default)."
    )
    output_dir: Path = Path("outputs")
    forecast: ForecastConfig = Field(default_factory=ForecastConfig)
    planning: PlanningConfig = Field(default_factory=PlanningConfig)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    flow: FlowSettings = Field(default_factory=FlowSettings)
    execution: ExecutionSettings = Field(default_factory=ExecutionSettings)
    purchase_orders: PurchaseOrderSettings = Field(default_factory=PurchaseOrderSettings)
    approval: ApprovalSettings = Field(default_factory=ApprovalSettings)
    workbench: WorkbenchSettings = Field(default_factory=WorkbenchSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over the file, so an operator can override one value.
        return env_settings, init_settings

    @field_validator("calendar", mode="before")
    @classmethod
    def _calendar_switch(cls, value: Any) -> Any:
        """YAML reads an unquoted ``calendar: off`` as false (and ``on`` as true)."""
        if isinstance(value, bool):
            return "cn" if value else "off"
        return value

    def state_folder(self) -> Path:
        """Where local state (signal caches, older ledgers) lives: the folder of an SQLite run
        store, or ``.replenish`` of the working folder for a database server."""
        prefix = "sqlite:///"
        if self.store_url.startswith(prefix):
            return Path(self.store_url[len(prefix):]).parent
        return Path(".replenish")

    def fingerprint(self) -> str:
        """A stable hash of the settings that shape the results, recorded with every run."""
        # Execution (local or Dask) changes where the work runs, not its results.
        payload = json.dumps(self.model_dump(mode="json", exclude={"execution"}), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _resolve(base: Path, settings: Settings) -> Settings:
    updates: dict[str, Any] = {}
    if not settings.output_dir.is_absolute():
        updates["output_dir"] = base / settings.output_dir
    if settings.calendar_file is not None and not settings.calendar_file.is_absolute():
        updates["calendar_file"] = base / settings.calendar_file
    if settings.data.folder is not None and not settings.data.folder.is_absolute():
        updates["data"] = settings.data.model_copy(update={"folder": base / settings.data.folder})
    prefix = "sqlite:///"
    if settings.store_url.startswith(prefix) and not settings.store_url.startswith(prefix + "/"):
        updates["store_url"] = prefix + str(base / settings.store_url[len(prefix):])
    return settings.model_copy(update=updates)


def load_settings(path: Path | None) -> Settings:
    """Read a YAML config file (or only defaults and the environment when ``path`` is None)."""
    if path is None:
        return _resolve(Path.cwd(), Settings())
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
    except FileNotFoundError as err:
        raise ConfigError(f"{path}: no such config file") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from err
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    try:
        settings = Settings(**document)
    except ValidationError as err:
        lines = [
            f"{path}: field '{'.'.join(str(p) for p in e['loc'])}': {e['msg']}"
            for e in err.errors()
        ]
        raise ConfigError("\n".join(lines)) from err
    # Relative paths in a config file are relative to the project root (the config's parent
    # folder when the file lives in config/), so `config/demo.yaml` works from anywhere.
    base = path.resolve().parent
    if base.name == "config":
        base = base.parent
    return _resolve(base, settings)
