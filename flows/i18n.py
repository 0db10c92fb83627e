"""The language of every text planners and suppliers read: English or Simplified Chinese.

``locale`` in the config (``en`` by default, ``zh_CN`` in ``config/demo.yaml``) picks it.
Messages live in gettext catalogs, ``flows/locale/<locale>/LC_MESSAGES/replenish.po``; the
English text is the message id, so English needs no catalog and a message missing from a
catalog shows in English rather than as an empty string.

Decisions:

* The ``.po`` file is what ships: it is compiled in memory with Babel's own tooling
  (:func:`babel.messages.pofile.read_po` then :func:`~babel.messages.mofile.write_mo`) the
  first time a language is used (a few milliseconds for a few hundred messages), so a clean
  clone, an editable install and a wheel all work without a build step and a ``.mo`` can never
  be stale.
* Money in Chinese is yuan, formatted by Babel from CLDR: ``¥12,345.00``. In English it stays
  a plain amount with separators (``12,345.00``), as before: the data contract does not name
  a currency (``unit_cost`` and ``min_order_value`` are in whatever the products table uses).
* Dates stay ISO (``2026-11-03``): what Chinese ERPs and planners write, and unambiguous.
* The planning core writes its alert and exception sentences in English, each with a message
  id and parameters (:mod:`replenishment.messages`); :func:`localized_messages` writes them
  again in the run's language, once, before anything is stored, exported or sent.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

import pandas as pd
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

from replenishment.messages import render_frame

__all__ = ["CATALOG_DOMAIN", "KIND_LABELS", "LOCALES", "SEVERITY_LABELS", "Language",
           "catalog_path", "language", "localized_messages"]

LOCALES = ("en", "zh_CN")
CATALOG_DOMAIN = "replenish"
CURRENCY = "CNY"
_LOCALE_DIR = Path(__file__).with_name("locale")
Locale = Literal["en", "zh_CN"]
# Alert kinds and severities as planners say them; the English is the catalog's message id.
KIND_LABELS = {
    "stockout_risk": "stockout risk", "overstock": "overstock", "expiry_risk": "expiry risk",
    "event_readiness": "event readiness", "supplier_exception": "supplier exception",
    "suspected_stockout": "suspected stockout", "capacity_bound": "capacity cut",
    "budget_shortfall": "budget cut", "moq_above_capacity": "MOQ above capacity",
    "build_ahead": "build-ahead", "launch": "launch", "unplanned": "not planned",
    "data_freshness": "data freshness",
}
SEVERITY_LABELS = {"critical": "critical", "high": "high", "medium": "medium", "low": "low"}


def catalog_path(locale: str) -> Path:
    """The ``.po`` catalog of ``locale``."""
    return _LOCALE_DIR / locale / "LC_MESSAGES" / f"{CATALOG_DOMAIN}.po"


@dataclass(frozen=True)
class Language:
    """Translations and number formats of one locale."""

    locale: str
    translations: gettext.NullTranslations = field(repr=False, compare=False)

    @property
    def is_chinese(self) -> bool:
        return self.locale.startswith("zh")

    def column_labels(self, columns: Iterable[object]) -> list[str]:
        """A table's column headers in this language (the catalog's ``column`` context:
        the machine names in English, 调出仓, 计划数量... in Chinese)."""
        return [self.translations.pgettext("column", str(c)) for c in columns]

    def gettext(self, message: str, **fields: object) -> str:
        """``message`` in this language, with ``{name}`` fields filled in."""
        text = self.translations.gettext(message)
        return text.format(**fields) if fields else text

    def ngettext(self, singular: str, plural: str, count: int, **fields: object) -> str:
        """The singular or plural form for ``count`` (``{count}`` is filled in)."""
        text = self.translations.ngettext(singular, plural, count)
        return text.format(count=count, **fields)

    def money(self, amount: float, digits: int = 2) -> str:
        """``¥12,345.00`` (zh_CN) or ``12,345.00`` (en); ``digits=0`` rounds to yuan."""
        if not self.is_chinese:
            return self.number(amount, digits) if digits == 0 else f"{amount:,.{digits}f}"
        pattern = None if digits == 2 else "¤#,##0"
        return format_currency(amount, CURRENCY, format=pattern, locale=self.locale,
                               currency_digits=digits == 2)

    def number(self, value: float, digits: int = 0) -> str:
        """``12,345`` with thousands separators and at most ``digits`` decimals."""
        pattern = "#,##0" + ("." + "#" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.locale)


@cache
def language(locale: str = "en") -> Language:
    """The :class:`Language` of ``locale`` (``en`` or ``zh_CN``), its catalog compiled once."""
    if locale not in LOCALES:
        raise ValueError(f"locale {locale!r}: expected one of {', '.join(LOCALES)}")
    path = catalog_path(locale)
    if locale == "en" or not path.exists():
        return Language(locale, gettext.NullTranslations())
    # The main catalog first; each room's own catalog beside it (orders.po: the order book,
    # the workbench) answers what the main one does not hold.
    translations = _compiled(path, locale)
    for extra in sorted(path.parent.glob("*.po")):
        if extra != path:
            translations.add_fallback(_compiled(extra, locale))
    return Language(locale, translations)


def _compiled(path: Path, locale: str) -> gettext.GNUTranslations:
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale, domain=CATALOG_DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def localized_messages(frame: pd.DataFrame, lang: Language) -> pd.DataFrame:
    """``frame`` (alerts or CPFR exceptions) with ``message`` in ``lang``, written from its
    ``message_id`` and ``message_params``; English frames and rows without an id are kept."""
    if lang.locale == "en":
        return frame
    return render_frame(frame, lang.translations.gettext)
