"""``replenish demo``: the main job on the embedded sample brand, from nothing to outputs."""

from __future__ import annotations

import sys

from flows.config import Settings
from flows.errors import UserError
from flows.jobs import describe_plan, run_plan

__all__ = ["ensure_sample", "run_demo"]


def ensure_sample(settings: Settings) -> bool:
    """Write the sample brand into ``data.folder`` unless a dataset is already there."""
    from flows.sample import describe_brand, generate_brand, write_brand

    folder = settings.data.folder
    if folder is None:
        raise UserError("the demo config must set data.folder (where the sample brand goes)")
    if (folder / "sales.csv").exists() or (folder / "sales.parquet").exists():
        return False
    print(f"Generating the sample brand into {folder} ...", file=sys.stderr, flush=True)
    brand = generate_brand()
    write_brand(brand, folder)
    print(describe_brand(brand, folder), file=sys.stderr, flush=True)
    return True


def run_demo(settings: Settings) -> str:
    """Generate the sample brand if absent, then run every stage; return the summary."""
    ensure_sample(settings)
    job = run_plan(settings, as_of=None, out=settings.output_dir)
    forecast = job.forecast
    lines = [
        f"Demo finished for {settings.brand}",
        f"  data:        {settings.data.folder}",
        f"  forecast:    {job.out / 'forecast.csv'} ({forecast.channel['sku'].nunique():,} SKUs x "
        f"{forecast.channel['channel'].nunique()} channels, {forecast.sku['date'].nunique()} days "
        f"from {forecast.sku['date'].min().date()})",
        describe_plan(job),
        f"  run store:   {settings.store_url}",
    ]
    return "\n".join(lines)
