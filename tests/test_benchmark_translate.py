"""benchmarks/translate.py --document runs (small, untimed) and prints its ratios and fallback rates."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from conftest import ROOT, subprocess_env


@pytest.mark.slow
def test_the_document_benchmark_runs_and_reports_both_ratios_and_fallback_rates(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "translate.py"), "--document", "--copies", "1",
                           "--cap", "8", "--beam", "1", "--work", str(tmp_path / "work")],
                          env=subprocess_env(), capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "20 distinct model inputs (of 20)" in out
    assert re.search(r"\(r\) publisher translate, random model: .* x raw  fallback \d+/20", out), out
    assert re.search(r"\(e\) publisher translate, echo model: .* x raw  fallback 0/20", out), out
    assert re.search(r"\(e\)/raw speed ratio\s+\d+\.\d\d", out)
    assert "correct reference translations sent to the fallback: 0/35" in out
