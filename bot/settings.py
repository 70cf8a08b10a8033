"""Settings from the environment (or a local `.env`, never committed), prefix LEADBOT_."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

import dialogs

SHIPPED_FLOWS = Path(dialogs.__file__).parent / "flows"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEADBOT_", env_file=".env", extra="ignore")

    bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    database_url: str = "sqlite:///leadbot.db"
    flows_dir: Path = SHIPPED_FLOWS
    default_flow: str | None = None  # entered on a plain /start instead of the menu
    webhook_url: str | None = None  # public https base URL, for `leadbot run --webhook`
    webhook_secret: SecretStr | None = None  # default: derived from the token
    host: str = "0.0.0.0"
    port: int = 8080
    log_level: str = "INFO"
    # Personal data (README, "Personal data")
    company_name: str | None = None  # names the data controller in consent texts: {company}
    company_contact: str | None = None  # where to write about personal data: {company_contact}
    privacy_url: str | None = None  # the full policy, for /privacy (default: the flow's)
    retention_days: int = Field(365, ge=1)  # leads untouched this long are anonymised
    pii_key: SecretStr | None = None  # Fernet key(s), newest first: encrypts name/phone/email
