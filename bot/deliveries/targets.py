"""Which CRM targets the settings turn on, checked before the bot starts: a webhook URL
without its secret (deliveries nobody could verify), a URL that is not http(s), a broken
mapping file: each stops the start with one line naming the setting or field.
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit

from bot.deliveries.ads.conversion import AdLimits
from bot.deliveries.crm.amocrm import AmoCrmTarget
from bot.deliveries.crm.bitrix24 import Bitrix24Target
from bot.deliveries.crm.webhook import WebhookTarget
from bot.deliveries.http import CrmLimits
from bot.deliveries.port import Target
from bot.settings import Settings
from dialogs.format.schema import ADVERTISING
from dialogs.rules.conversions import NAMES, Conversions, ConversionsError, Ga4, Meta, Metrica
from dialogs.rules.crm import CrmMapping, CrmMappingError
from storage.deliveries.rows import Spec


class CrmConfigError(ValueError):
    """CRM settings that cannot be used: one line for the operator."""


def _url(name: str, value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CrmConfigError(f"{name}: not an http(s) URL")
    return value.strip()


CATEGORY = "CRM"  # the category of recipient every target is (the consent texts name it)


def recipients_from(settings: Settings) -> tuple[tuple[str, str], ...]:
    """Whom the configured CRMs pass the leads to, and the ad platforms sent conversions
    (LEADBOT_CONVERSIONS_FILE: a click id is personal data too), as (category, name): what
    the consent texts' `{recipients}` and /privacy name (GDPR Art. 13(1)(e)). The webhook
    by its host; nothing secret (a URL's path or key) is named. Raises CrmConfigError for
    a broken conversions file."""
    found = []
    if settings.webhook_url:
        found.append((CATEGORY, urlsplit(settings.webhook_url.strip()).hostname
                      or settings.webhook_url.strip()))
    if settings.bitrix24_webhook_url is not None:
        found.append((CATEGORY, "Bitrix24"))
    if settings.amocrm_url or settings.amocrm_token:
        found.append((CATEGORY, "amoCRM"))
    conversions = conversions_from(settings)
    if conversions is not None:
        found += [(ADVERTISING, NAMES[name]) for name in conversions.platforms()]
    return tuple(found)


def named_from(settings: Settings) -> tuple[str, ...]:
    """The ad platforms given the phone and email (hashed: Meta with `contacts: true`), by
    display name: every consent text must name them, a category is not enough. Raises
    CrmConfigError for a broken conversions file."""
    conversions = conversions_from(settings)
    return tuple(NAMES[name] for name in conversions.with_contacts()) if conversions else ()


def conversions_from(settings: Settings) -> Conversions | None:
    """The conversions file (LEADBOT_CONVERSIONS_FILE), or None when unset. Raises
    CrmConfigError with one line naming the file and the field."""
    if settings.conversions_file is None:
        return None
    where = f"LEADBOT_CONVERSIONS_FILE {settings.conversions_file}"
    try:
        text = settings.conversions_file.read_text(encoding="utf-8")
    except OSError as error:
        raise CrmConfigError(f"{where}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise CrmConfigError(f"{where}: not UTF-8 text (save it as UTF-8)") from None
    try:
        return Conversions.from_yaml(text, where)
    except ConversionsError as error:
        raise CrmConfigError(str(error)) from None


def mapping_from(settings: Settings, steps: Collection[str] = ()) -> CrmMapping:
    if settings.crm_file is None:
        return CrmMapping()
    try:
        text = settings.crm_file.read_text(encoding="utf-8")
    except OSError as error:
        raise CrmConfigError(f"LEADBOT_CRM_FILE {settings.crm_file}: "
                             f"{error.strerror}") from None
    except UnicodeDecodeError:
        raise CrmConfigError(f"LEADBOT_CRM_FILE {settings.crm_file}: not UTF-8 text (save "
                             f"it as UTF-8)") from None
    try:
        return CrmMapping.from_yaml(text, f"LEADBOT_CRM_FILE {settings.crm_file}", steps)
    except CrmMappingError as error:
        raise CrmConfigError(str(error)) from None


def targets_from(settings: Settings, limits: CrmLimits | None = None,
                 steps: Collection[str] = ()) -> list[Target]:
    """The configured targets (none: an empty list). Raises CrmConfigError."""
    limits = limits or CrmLimits()
    mapping = mapping_from(settings, steps)
    found: list[Target] = []
    if settings.webhook_url:
        url = _url("LEADBOT_WEBHOOK_URL", settings.webhook_url)
        if settings.webhook_secret is None or not settings.webhook_secret.get_secret_value():
            raise CrmConfigError("LEADBOT_WEBHOOK_URL is set without LEADBOT_WEBHOOK_SECRET: "
                                 "leads are never sent unsigned (set a long random secret; "
                                 "for Telegram's webhook mode the settings are now "
                                 "LEADBOT_TELEGRAM_WEBHOOK_URL / _SECRET)")
        found.append(WebhookTarget(url, settings.webhook_secret.get_secret_value(), limits))
    if settings.bitrix24_webhook_url is not None:
        url = _url("LEADBOT_BITRIX24_WEBHOOK_URL",
                   settings.bitrix24_webhook_url.get_secret_value())
        found.append(Bitrix24Target(url, mapping.bitrix24, limits))
    if settings.amocrm_url or settings.amocrm_token:
        if not settings.amocrm_url or settings.amocrm_token is None:
            raise CrmConfigError("amoCRM needs both LEADBOT_AMOCRM_URL and "
                                 "LEADBOT_AMOCRM_TOKEN")
        url = _url("LEADBOT_AMOCRM_URL", settings.amocrm_url)
        found.append(AmoCrmTarget(url, settings.amocrm_token.get_secret_value(),
                                  mapping.amocrm, limits))
    return found


# each ad platform's secret setting (never in the conversions file)
SECRETS = {"metrica": "LEADBOT_METRICA_TOKEN", "meta": "LEADBOT_META_TOKEN",
           "ga4": "LEADBOT_GA4_API_SECRET"}


def ad_targets_from(settings: Settings, limits: AdLimits | None = None) -> list[Target]:
    """The ad platforms LEADBOT_CONVERSIONS_FILE names (none: an empty list), each with its
    secret. Raises CrmConfigError for a broken file or a platform without its secret (all
    checked before a target is built). The targets' modules are imported only when their
    platform is configured."""
    conversions = conversions_from(settings)
    if conversions is None:
        return []
    limits = limits or AdLimits()
    platforms = conversions.platforms()
    secrets = {}
    for name in platforms:
        secret = getattr(settings, SECRETS[name].removeprefix("LEADBOT_").lower())
        if secret is None or not secret.get_secret_value().strip():
            raise CrmConfigError(f"LEADBOT_CONVERSIONS_FILE {settings.conversions_file} names "
                                 f"{name}, but {SECRETS[name]} is not set")
        secrets[name] = secret.get_secret_value().strip()
    try:
        return _built(platforms, secrets, limits)
    except ConversionsError as error:  # a goal a platform itself refuses (GA4's reserved)
        raise CrmConfigError(f"LEADBOT_CONVERSIONS_FILE {settings.conversions_file}: "
                             f"{error}") from None


def _built(platforms: dict[str, Metrica | Meta | Ga4], secrets: dict[str, str],
           limits: AdLimits) -> list[Target]:
    found: list[Target] = []
    for name, config in platforms.items():
        if isinstance(config, Metrica):
            from bot.deliveries.ads.metrica import MetricaTarget

            found.append(MetricaTarget(config, secrets[name], limits))
        elif isinstance(config, Meta):
            from bot.deliveries.ads.meta import MetaTarget

            found.append(MetaTarget(config, secrets[name], limits))
        else:
            from bot.deliveries.ads.ga4 import Ga4Target

            found.append(Ga4Target(config, secrets[name], limits))
    return found


def check_goals(settings: Settings) -> None:
    """What the platforms themselves refuse in the conversions file (GA4's reserved event
    names), without their secrets: `leadbot lint` refuses what would stop the start, on a
    machine that holds no platform's secret. Raises CrmConfigError."""
    conversions = conversions_from(settings)
    if conversions is None or conversions.ga4 is None:
        return
    from bot.deliveries.ads.ga4 import refused

    for moment, goal in conversions.ga4.goals.items():
        if why := refused(goal):
            raise CrmConfigError(f"LEADBOT_CONVERSIONS_FILE {settings.conversions_file}: "
                                 f"ga4.goals.{moment}: '{goal}': {why}")


def specs(targets: list[Target]) -> list[Spec]:
    """What storage/deliveries/rows.py `note` needs of each target."""
    return [Spec(t.name, t.events, t.goals, t.window) for t in targets]


def check_telegram_webhook(settings: Settings) -> None:
    """`leadbot run --webhook` after the rename: LEADBOT_WEBHOOK_URL used to be Telegram's.
    Set alone, it now means "post leads there": starting would send leads to the bot's own
    Telegram endpoint, so the start is refused, naming the rename."""
    if settings.telegram_webhook_url:
        return
    if settings.webhook_url:
        raise CrmConfigError(
            "LEADBOT_TELEGRAM_WEBHOOK_URL is not set, but LEADBOT_WEBHOOK_URL is: Telegram's "
            "webhook settings were renamed to LEADBOT_TELEGRAM_WEBHOOK_URL and "
            "LEADBOT_TELEGRAM_WEBHOOK_SECRET; LEADBOT_WEBHOOK_URL / _SECRET now name the "
            "signed CRM webhook (docs/upgrading.md). Rename yours, then start again")
    raise CrmConfigError("LEADBOT_TELEGRAM_WEBHOOK_URL is not set (the public https URL of "
                         "this bot)")
