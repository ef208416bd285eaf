"""benchmarks/compare_outputs.py: same numbers apart from timings, or each difference named."""

import importlib.util
import json

import pandas as pd

from .conftest import ROOT

spec = importlib.util.spec_from_file_location(
    "compare_outputs", ROOT / "benchmarks" / "compare_outputs.py"
)
compare_outputs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare_outputs)


def tree(root, estimate=0.5, seconds=1.0, summary_time="Time: 01:00:00"):
    folder = root / "demo" / "full" / "ml"
    folder.mkdir(parents=True)
    pd.DataFrame({"term": ["Intercept"], "estimate": [estimate], "p_value": [float("nan")]}).to_csv(
        folder / "estimates.csv", index=False
    )
    info = {"engine": "ml", "wall_seconds": {"total": seconds}, "versions": {"numpy": str(seconds)},
            "attempts": [{"draws": 10, "seconds": seconds}], "summary": ["x", summary_time],
            "diagnostics": {"loglik": -1.5}}  # fmt: skip
    (folder / "fit.json").write_text(json.dumps(info))
    return root


def test_timings_versions_and_summary_times_are_not_differences(tmp_path):
    old = tree(tmp_path / "old")
    new = tree(tmp_path / "new", seconds=2.0, summary_time="Time: 02:00:00")
    assert compare_outputs.compare(old, new) == []
    assert compare_outputs.main([str(old), str(new)]) == 0


def test_a_changed_number_or_a_missing_file_is_named(tmp_path, capsys):
    old = tree(tmp_path / "old")
    new = tree(tmp_path / "new", estimate=0.5000001)
    (new / "demo" / "report_extra").mkdir()
    (new / "demo" / "loo_comparison.csv").write_text("model\n")
    assert compare_outputs.compare(old, new) == [
        "demo/loo_comparison.csv: only in " + str(new),
        "demo/full/ml/estimates.csv: row 1, estimate: 0.5 -> 0.5000001",
    ]
    assert compare_outputs.compare(old, new, rtol=1e-6)[1:] == []
    assert compare_outputs.main([str(old), str(new)]) == 1
    assert "2 difference(s)" in capsys.readouterr().out
