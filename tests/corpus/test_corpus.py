"""Every bad input of the corpus (:mod:`tests.corpus.bad_inputs`) fails as the README says.

Each case runs in this process through :func:`cli.main` (the console entry point, so exit
codes and messages are exactly what a user sees) and must: exit with its code, print one line
``error: <what>; <what to do>`` on stderr and nothing that looks like a traceback, emit no
warning, and leave every file of the corpus as it was (hashed before and after), with no new
file, except the run directory of a run that failed part-way, whose ``summary.json`` must say
how it ended.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import re
import shutil
import warnings
from pathlib import Path

import pytest
import torch

import cli
from tests.corpus.bad_inputs import PWNED, Case, build, case_names

#: A one-line user error: what is wrong, then what to do.
ERROR_LINE = re.compile(r"^error: .+; .+$")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    cases = {case.name: case for case in build(root)}
    # A run directory another process is writing: its lock is held here for the module.
    locked = root / "runs" / "locked"
    locked.mkdir(parents=True)
    (locked / "tracks.txt").write_text("1,1,10,4,8,16,0.9,-1,-1,-1\n")
    lock = open(locked / ".lock", "a+")  # held open until the module ends
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    lock.write("4242")
    lock.flush()
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield root, cases
    torch.set_num_threads(before)
    lock.close()


def tree_hash(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``root`` (directories as "dir")."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        out[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def run_main(args: list[str]) -> tuple[int, str, str, list[warnings.WarningMessage]]:
    """``mplt ARGS`` in this process: exit code, stdout, stderr and the warnings raised."""
    out, err = io.StringIO(), io.StringIO()
    with (
        warnings.catch_warnings(record=True) as caught,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        warnings.simplefilter("always")
        try:
            cli.main(args)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    # what Python prints by default: not the categories its default filters ignore
    hidden = (DeprecationWarning, PendingDeprecationWarning, ResourceWarning, ImportWarning)
    shown = [w for w in caught if not issubclass(w.category, hidden)]
    return code, out.getvalue(), err.getvalue(), shown


def test_the_corpus_is_large_enough():
    names = case_names()
    assert len(names) >= 60 and len(set(names)) == len(names)
    groups = {name.split("-")[0] for name in names}
    assert {
        "video",
        "folder",
        "detections",
        "calib",
        "config",
        "set",
        "flag",
        "rundir",
        "train",
        "eval",
        "export",
        "render",
    } <= groups


@pytest.mark.parametrize("name", case_names())
def test_bad_input_fails_cleanly(corpus, name):
    root, cases = corpus
    case: Case = cases[name]
    args = [a.replace("{root}", str(root)) for a in case.args]
    leaves = root / case.leaves if case.leaves else None
    before = tree_hash(root)

    code, stdout, stderr, shown = run_main(args)

    lines = stderr.strip().splitlines()
    assert code == case.code, (args, stderr)
    assert len(lines) == 1, stderr
    assert ERROR_LINE.match(lines[0]), lines[0]
    assert re.search(case.match, lines[0]), (case.match, lines[0])
    assert "Traceback" not in stderr + stdout
    assert not shown, [str(w.message) for w in shown]
    assert not (root / PWNED).exists()
    if leaves is not None:
        summary = json.loads((leaves / "summary.json").read_text())
        assert re.fullmatch(case.status or "", summary["status"]), summary["status"]
        assert summary["reason"], summary
        for name_ in ("tracks.txt", "tracks.jsonl", "config.yaml"):
            assert (leaves / name_).is_file()
        assert len((leaves / "tracks.jsonl").read_text().splitlines()) == summary["last_frame"]
        # the run directory and the folders made for it
        shutil.rmtree(root / Path(case.leaves).parts[0])
    assert tree_hash(root) == before
