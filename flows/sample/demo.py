"""``replenish demo``: the planning flow on the embedded sample brand, from nothing to outputs."""

from __future__ import annotations

import sys

from flows.config import Settings
from flows.errors import UserError
from flows.i18n import language

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
    """Generate the sample brand if absent, run the planning flow once; return its summary.

    Call after :func:`flows.orchestration.runtime.prepare_prefect_environment` (Prefect reads
    its settings when first imported).
    """
    from flows.orchestration.flow import planning_flow
    from flows.outbound.terminal import labelled_row
    from flows.pipeline import describe_outcome

    ensure_sample(settings)
    outcome = planning_flow(settings=settings)
    t = language(settings.locale).gettext
    return "\n".join([
        t("Demo finished for {brand}", brand=settings.brand),
        labelled_row(t("data:"), str(settings.data.folder)),
        describe_outcome(outcome, settings.locale),
        labelled_row(t("run store:"), settings.store_url),
    ])
