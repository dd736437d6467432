"""The CI gate: the known-facts eval of the bundled article with the real local model.

Fails when any metric falls below (or a rate rises above) the floor recorded in
eval/thresholds.json. Raise floors when the system improves; never lower one without
saying why in the commit. The report is written to the pytest tmp dir.
"""

from __future__ import annotations

import json

from eval.dataset import ARTICLE_DATASET
from eval.runner import run_eval
from rag import Settings
from tests.conftest import CORPUS, ROOT

THRESHOLDS = ROOT / "eval" / "thresholds.json"


def test_known_facts_of_the_article_stay_above_their_floors(tmp_path):
    gate = json.loads(THRESHOLDS.read_text())["article"]
    results = run_eval([ARTICLE_DATASET], CORPUS,
                       Settings(index_dir=tmp_path / "index", backend=gate["backend"]),
                       tmp_path / "report", progress=False)
    metrics = results[gate["backend"]]["metrics"]
    print(json.dumps({k: metrics[k] for k in [*gate["min"], *gate["max"]]}, indent=1))
    below = {k: (metrics[k], floor) for k, floor in gate["min"].items() if metrics[k] < floor}
    above = {k: (metrics[k], ceiling) for k, ceiling in gate["max"].items()
             if metrics[k] > ceiling}
    assert not below, f"below their floors (measured, floor): {below}; see {tmp_path}/report"
    assert not above, f"above their ceilings (measured, ceiling): {above}; see {tmp_path}/report"
