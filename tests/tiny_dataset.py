"""A tiny valid dataset (every planning table plus signals) for source and validation tests."""

from __future__ import annotations

from pathlib import Path

__all__ = ["TINY_TABLES", "write_tiny_dataset"]

TINY_TABLES: dict[str, str] = {
    "sales": (
        "date,sku,channel,units,price,stockout\n"
        "2025-01-01,SKU-1,tmall,3,99,0\n"
        "2025-01-01,SKU-2,douyin,10,59,0\n"
        "2025-01-02,SKU-1,jd,2,99,0\n"
        "2025-01-02,SKU-2,tmall,0,59,1\n"
    ),
    "products": (
        "sku,supplier,unit_cost,case_pack,moq,name,category\n"
        "SKU-1,SUP-A,40,12,24,玫瑰精华液,skincare\n"
        "SKU-2,SUP-B,20,6,0,口红 #01,makeup\n"
    ),
    "suppliers": (
        "supplier,lead_time_days,lead_time_std_days,name\n"
        "SUP-A,14,3,上海供应商\n"
        "SUP-B,7,1,Guangzhou Co\n"
    ),
    "inventory": "sku,on_hand\nSKU-1,50\nSKU-2,0\n",
    "promotions": "start,end,kind,sku,discount\n2025-02-01,2025-02-03,flash,SKU-1,0.2\n",
    "livestreams": (
        "start,end,channel,sku,host\n"
        "2025-02-05T20:00:00+08:00,2025-02-05T22:00:00+08:00,douyin,SKU-2,Li\n"
    ),
}


def write_tiny_dataset(folder: Path, tables: dict[str, str] | None = None) -> Path:
    """Write ``tables`` (default: :data:`TINY_TABLES`) as ``NAME.csv`` files into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (TINY_TABLES if tables is None else tables).items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder
