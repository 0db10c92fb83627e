"""The notebooks run top to bottom on small data, in a kernel of this environment.

Each notebook is executed with nbclient the way papermill runs one: small sizes are injected
in a cell after the one tagged ``parameters``. A last cell, added only here, prints a JSON
line of facts read from the notebook's own variables, so the test checks what the notebook
computed and showed, not only that it ran.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
DATA_ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
CELL_TIMEOUT_S = 240
# Small and fast: one LightGBM thread with fewer trees, one inner backtest window, few paths,
# no AutoETS (the costliest per-series model), one global set-up (no set-up search).
FAST = {"n_paths": 100, "ets_max_series": 0, "backtest_windows": 1,
        "lightgbm_params": {"n_estimators": 60}, "global_setups": ["tweedie"]}
BRAND = {"SKUS": 15, "DAYS": 250, "HORIZON": 21, "FORECAST_OPTIONS": FAST}
ACCURACY = {"STORES": 4, "HISTORY_DAYS": 240, "SAMPLE_SKUS": 12, "SAMPLE_DAYS": 200,
            "HORIZON": 14, "WINDOWS": 2, "FORECAST_OPTIONS": FAST}

PROBES = {
    "01-quickstart.ipynb": """
{"horizon_days": int(forecast.sku["date"].nunique()),
 "forecast_skus": sorted(forecast.sku["sku"].unique()),
 "products": sorted(dataset.supply.products["sku"]),
 "order_suppliers": sorted(result.orders["supplier"].unique()),
 "suppliers": sorted(dataset.supply.suppliers["supplier"]),
 "order_value": float(result.orders["line_value"].sum()),
 "alerts": len(result.alerts),
 "chart_sku": sku,
 "chart_forecast_days": len(ahead), "chart_truth_days": len(truth)}
""",
    "02-forecast-accuracy.ipynb": """
{"datasets": list(results),
 "models": {name: r.overall["model"].tolist() for name, r in results.items()},
 "wape": {name: float(r.overall.set_index("model").loc["forecast", "wape"])
          for name, r in results.items()},
 "coverage": {name: r.by_class[["demand_class", "coverage_p50", "coverage_p90"]].to_dict("list")
              for name, r in results.items()},
 "windows": {name: int(r.actuals["window"].nunique()) for name, r in results.items()}}
""",
    "03-what-if.ipynb": """
{"scenarios": list(plans),
 "promo_sku": promo["sku"],
 "promo_demand": {name: float(p.forecast.loc[(p.forecast["sku"] == promo["sku"])
                                             & p.forecast["date"].between(promo["start"],
                                                                          promo["end"]),
                                             "forecast"].sum())
                  for name, p in plans.items()},
 "supplier_protection": {name: float(p.levels.loc[p.levels["sku"].isin(supplier_skus),
                                                  "protection_demand"].sum())
                         for name, p in plans.items()},
 "supplier_before_arrival": {name: float(p.levels.loc[p.levels["sku"].isin(supplier_skus),
                                                      "lead_time_demand"].sum())
                             for name, p in plans.items()},
 "table_columns": [list(map(str, c)) for c in orders.columns]}
""",
}


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One ``python3`` kernel of this interpreter, started in ``notebooks/``, for all notebooks.

    The kernel spec is written first on the kernel search path, so neither a fresh virtualenv
    nor a user's own ``python3`` kernel can change what runs. Importing the engine costs a
    kernel 10-30 s on a busy machine, so the notebooks share one kernel; each starts with its
    namespace cleared (``%reset -f``), so one notebook cannot lean on another's variables.
    """
    home = tmp_path_factory.mktemp("jupyter")
    write_kernel_spec(home / "kernels" / "python3")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(home))
        manager = AsyncKernelManager(kernel_name="python3")
        run_sync(manager.start_kernel)(cwd=str(NOTEBOOKS))
        try:
            yield manager
        finally:
            run_sync(manager.shutdown_kernel)(now=True)


def _with_parameters(notebook: Any, values: Mapping[str, object]) -> None:
    """Insert a cell assigning ``values`` after the cell tagged ``parameters``."""
    tagged = [i for i, cell in enumerate(notebook.cells)
              if "parameters" in cell.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "a notebook needs exactly one cell tagged 'parameters'"
    source = "\n".join(f"{name} = {value!r}" for name, value in values.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    notebook.cells.insert(tagged[0] + 1, cell)


def execute(kernel: Any, name: str, values: Mapping[str, object]) -> tuple[Any, dict[str, Any]]:
    """Run the notebook with ``values`` injected; return it and what its probe printed."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    _with_parameters(notebook, values)
    notebook.cells.insert(0, nbformat.v4.new_code_cell("%reset -f"))
    probe = f"import json\nprint('PROBE ' + json.dumps({PROBES[name].strip()}, default=str))"
    notebook.cells.append(nbformat.v4.new_code_cell(probe))
    client = NotebookClient(notebook, km=kernel, timeout=CELL_TIMEOUT_S)
    try:
        client.execute()  # raises CellExecutionError naming the cell that failed
    finally:
        if client.kc is not None:
            client.kc.stop_channels()
    errors = [output for cell in notebook.cells for output in cell.get("outputs", [])
              if output["output_type"] == "error"]
    assert not errors
    lines = _text(notebook.cells[-1]).splitlines()
    facts = [line.removeprefix("PROBE ") for line in lines if line.startswith("PROBE ")]
    assert len(facts) == 1, lines
    return notebook, json.loads(facts[0])


def _text(cell: Any) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            parts.append(output["text"])
        elif "data" in output:
            parts.append(output["data"].get("text/plain", ""))
    return "".join(parts)


def _all_text(notebook: Any) -> str:
    return "\n".join(_text(cell) for cell in notebook.cells if cell["cell_type"] == "code")


def _images(notebook: Any) -> int:
    return sum("image/png" in output.get("data", {})
               for cell in notebook.cells for output in cell.get("outputs", []))


@pytest.mark.timeout(300)
def test_quickstart_plans_the_sample_brand_and_charts_one_sku(kernel: Any,
                                                               tmp_path: Path) -> None:
    notebook, facts = execute(kernel, "01-quickstart.ipynb",
                              {**BRAND, "DATA_DIR": str(tmp_path / "b")})
    assert (tmp_path / "b" / "sales.csv").exists()
    shown = _all_text(notebook)
    # The demo config speaks Chinese (locale zh_CN); the summary is in the planner's language.
    assert "数据校验通过" in shown or "Dataset OK" in shown
    # The broken cell is reported the way a planner reads it: file, row, column, value.
    assert "sales.csv, row 3, column 'units': got 'twelve'" in shown
    assert facts["horizon_days"] == BRAND["HORIZON"]
    assert set(facts["forecast_skus"]) <= set(facts["products"])
    assert set(facts["order_suppliers"]) <= set(facts["suppliers"])
    assert facts["order_value"] > 0
    for supplier in facts["order_suppliers"]:
        assert f"{supplier}: " in shown  # every supplier's order lines are listed
    assert facts["alerts"] > 0
    assert facts["chart_sku"] in facts["products"]
    assert facts["chart_forecast_days"] == BRAND["HORIZON"]
    assert facts["chart_truth_days"] == BRAND["HORIZON"]
    assert _images(notebook) == 1


@pytest.mark.timeout(300)
def test_accuracy_notebook_scores_models_and_coverage_per_demand_class(
    kernel: Any, tmp_path: Path
) -> None:
    notebook, facts = execute(kernel, "02-forecast-accuracy.ipynb",
                              {**ACCURACY, "DATA_DIR": str(tmp_path / "b")})
    sample = f"sample brand, {ACCURACY['SAMPLE_SKUS']} SKUs"
    if (DATA_ROOT / "rossmann" / "train.csv").exists():
        assert facts["datasets"] == [f"Rossmann, {ACCURACY['STORES']} stores", sample]
    else:
        assert facts["datasets"] == [sample]
        assert "not found: no real data here" in _all_text(notebook)
    for name in facts["datasets"]:
        assert {"forecast", "seasonal_naive", "lightgbm"} <= set(facts["models"][name])
        assert 0 < facts["wape"][name] < 2
        assert facts["windows"][name] == ACCURACY["WINDOWS"]
        coverage = facts["coverage"][name]
        for p50, p90 in zip(coverage["coverage_p50"], coverage["coverage_p90"], strict=True):
            assert 0 <= p50 <= p90 <= 1
    # The sample brand's long tail has demand classes besides smooth.
    assert len(facts["coverage"][sample]["demand_class"]) > 1
    assert _images(notebook) == len(facts["datasets"])


@pytest.mark.timeout(300)
def test_what_if_notebook_compares_lift_and_lead_time_scenarios(kernel: Any,
                                                                 tmp_path: Path) -> None:
    notebook, facts = execute(kernel, "03-what-if.ipynb",
                              {**BRAND, "DATA_DIR": str(tmp_path / "b")})
    baseline, lifted, later = facts["scenarios"]
    assert baseline == "baseline"
    demand = facts["promo_demand"]
    # x1.5 on the promotion's channel: the SKU's demand over the promotion grows, by at most
    # half (all of it when the promotion covers every channel).
    assert demand[baseline] * 1.5 * (1 + 1e-9) >= demand[lifted] > demand[baseline] > 0
    assert demand[later] == pytest.approx(demand[baseline])
    # A longer lead time means more of that supplier's demand falls before an order can
    # arrive (served or lost from the stock already there, not bought by this order).
    before_arrival = facts["supplier_before_arrival"]
    assert before_arrival[later] > before_arrival[baseline]
    protection = facts["supplier_protection"]
    assert protection[lifted] >= protection[baseline]
    assert [baseline, "value"] in facts["table_columns"]
    shown = _all_text(notebook)
    assert "NO-SUCH" in shown and "expected a supplier of the suppliers table" in shown
    assert _images(notebook) == 1


def test_notebooks_are_committed_without_outputs() -> None:
    """Outputs would go stale as the engine changes and bloat every diff."""
    names = sorted(path.name for path in NOTEBOOKS.glob("*.ipynb"))
    assert names == sorted(PROBES)
    for path in NOTEBOOKS.glob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        for cell in notebook.cells:
            if cell["cell_type"] == "code":
                assert not cell["outputs"] and cell["execution_count"] is None, path.name
        assert notebook.metadata["kernelspec"]["name"] == "python3"

