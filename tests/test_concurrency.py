"""Several processes adding files at once end in one consistent, linear log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Runner, make_case

WORKERS = 4
ADDS = 4


@pytest.mark.slow
def test_parallel_adds_make_one_linear_log(tmp_path: Path, home: Path, cli: Runner) -> None:
    case = make_case(tmp_path, cli, files=0)
    script = (
        "import sys\n"
        "from custody.cli import run\n"
        "for i in range(int(sys.argv[3])):\n"
        "    p = sys.argv[2] + f'-{i}.txt'\n"
        "    open(p, 'w').write(p)\n"
        "    assert run(['add', p, '--case', sys.argv[1]]) == 0\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(case), str(tmp_path / f"w{w}"), str(ADDS)],
            env=dict(os.environ),
        )
        for w in range(WORKERS)
    ]
    assert all(p.wait(timeout=300) == 0 for p in procs)
    code, out, _ = cli("verify", str(case), "--json")
    report = json.loads(out)
    assert code == 0, report["findings"]
    assert report["checked"]["entries"] == 1 + WORKERS * ADDS
    code, out, _ = cli("log", "--case", str(case), "--json")
    seqs = [e["seq"] for e in json.loads(out)["entries"]]
    assert seqs == list(range(1 + WORKERS * ADDS))
