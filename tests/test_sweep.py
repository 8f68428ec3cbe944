"""tinyml sweep's parts that need no worker: the space file, the screen's bounds, the Pareto
front, the SQLite store and the folder's lock, the command's one-line refusals."""

import math
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from pipeline.board import load_board
from pipeline.errors import PipelineError
from pipeline.model.specs import C_IDENTIFIER, ModelSpec
from pipeline.sweep import pareto, screen
from pipeline.sweep.space import Constraints, default_space, load_space, parse_budget, point_name, point_spec
from pipeline.sweep.store import LOCK, SweepLock, SweepStore, check_unlocked


def write(tmp_path, text, name="space.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def tinyml(*args, cwd=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "pipeline", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


# --- the space file ------------------------------------------------------------------------------


def test_default_space_has_at_least_100_valid_points_with_unique_c_names():
    space = load_space(default_space())
    points = space.select()
    assert space.size >= 100 and len(points) == space.size
    names = [point_name(p) for p in points]
    assert len(set(names)) == len(names)
    assert all(C_IDENTIFIER.match(n) for n in names)
    assert {p["conv"] for p in points} == {"standard", "separable"}
    assert space.boards == ("nano33ble",)


def test_values_lists_ranges_and_defaults(tmp_path):
    space = load_space(write(tmp_path, """
        boards = ["nano33ble", "qemu_mps2_an386"]
        strategy = "random"
        budget = "45m"
        [space]
        conv = "separable"
        alpha = { from = 0.25, to = 1.0, step = 0.25 }
        resolution = [32, 48]
        blocks = { from = 3, to = 7, step = 2 }
        [constraints]
        max_ms = 200
        min_accuracy = 0.9
    """))
    assert space.values["alpha"] == (0.25, 0.5, 0.75, 1.0)
    assert space.values["blocks"] == (3, 5, 7)
    assert space.values["channels"] == (1,) and space.values["epochs"] == (8,) and space.values["classes"] == (None,)
    assert space.size == 4 * 2 * 3
    assert space.budget.seconds == 45 * 60 and space.budget.points is None
    assert space.constraints == Constraints(max_ms=200.0, min_accuracy=0.9)
    # the seeded draw is the same every time, and a larger budget extends a smaller one
    assert space.select(points=5) == space.select(points=5)
    assert space.select(points=10)[:5] == space.select(points=5)
    assert sorted(map(str, space.select())) == sorted(map(str, space.select("grid")))
    assert space.select("grid", points=3) == [space.combination(i) for i in range(3)]


def test_every_error_of_a_space_file_at_once(tmp_path):
    path = write(tmp_path, """
        strategy = "annealing"
        budget = 0
        [space]
        name = "x"
        conv = ["standard", "dilated"]
        alpha = [0.5, -1, "wide"]
        resolution = { from = 32, to = 16, step = 8 }
        blocks = [3, 3, 14]
        colour = 1
        [constraints]
        max_ms = -5
        min_accuracy = 90
        max_bytes = 1
    """)
    with pytest.raises(PipelineError) as caught:
        load_space(path)
    message = str(caught.value)
    assert "\n" not in message
    for expected in ("strategy = 'annealing'", "budget = 0", "[space] name", "'dilated'", "alpha = -1",
                     "'wide'", "to >= from", "3 listed more than once", "blocks = 14", "colour",
                     "max_ms = -5", "min_accuracy = 90", "max_bytes"):
        assert expected in message, expected
    assert message.startswith(f"{path}: 13 errors: ")


def test_missing_space_table_and_bad_toml_fail_in_one_line(tmp_path):
    with pytest.raises(PipelineError, match=r"no \[space\] table"):
        load_space(write(tmp_path, "[constraints]\nmax_ms = 1\n"))
    with pytest.raises(PipelineError, match="not valid TOML"):
        load_space(write(tmp_path, "[space\n"))
    with pytest.raises(PipelineError, match="not found"):
        load_space(tmp_path / "nope.toml")


def test_budget_is_points_or_a_time():
    assert parse_budget(12, "--budget")[0].points == 12
    assert parse_budget("90s", "--budget")[0].seconds == 90
    assert parse_budget("2h", "--budget")[0].seconds == 7200
    assert parse_budget("soon", "--budget")[1]


def test_a_combination_that_makes_no_network_is_a_point_with_a_reason(tmp_path):
    from pipeline.sweep.space import combination_error

    space = load_space(write(tmp_path, """
        [space]
        conv = "standard"
        alpha = 0.25
        resolution = [8, 64]
        blocks = 13
    """))
    reasons = [combination_error(p) for p in space.select()]
    assert reasons[0] and "too small for 13 blocks" in reasons[0] and reasons[1] is None


# --- the screen: what a spec costs, and its bounds ------------------------------------------------


def test_spec_costs_follow_the_mobilenet_table():
    # 16x16x1, alpha 0.25: conv1 8 ch at 8x8; block 1 (16 ch, stride 1) at 8x8; block 2 (32, stride 2) at 4x4
    spec = ModelSpec("m", "separable", 0.25, 16, 1, 2, 10)
    costs = screen.spec_costs(spec, 10)
    conv1 = 9 * 1 * 8 * 64
    block1 = 9 * 8 * 64 + 8 * 16 * 64
    block2 = 9 * 16 * 16 + 16 * 32 * 16
    assert costs.macs == conv1 + block1 + block2 + 32 * 10
    assert costs.params == 9 * 8 + (9 * 8 + 8 * 16) + (9 * 16 + 16 * 32) + 32 * 10
    standard = screen.spec_costs(ModelSpec("m", "standard", 0.25, 16, 1, 2, 10), 10)
    assert standard.macs == conv1 + 9 * 8 * 16 * 64 + 9 * 16 * 32 * 16 + 320


def test_bounds_rule_out_what_no_board_can_hold():
    nano = load_board("nano33ble")
    giant = screen.spec_costs(ModelSpec("g", "standard", 1.0, 96, 1, 13, 10), 10)
    reason = screen.screen_spec(giant, [nano], Constraints())
    assert reason.startswith("nano33ble: at least ") and "flash budget 783,040 B" in reason
    small = screen.spec_costs(ModelSpec("s", "separable", 0.25, 32, 1, 3, 10), 10)
    assert screen.screen_spec(small, [nano], Constraints()) is None
    # two MACs per cycle at 64 MHz: 64,000 MACs take at least 0.5 ms
    assert screen.ms_lower_bound(64_000, nano) == pytest.approx(0.5)
    assert "max_ms" in screen.screen_spec(small, [nano], Constraints(max_ms=small.macs / 2 / 64e6 * 1000 / 2))
    assert screen.screen_spec(small, [nano], Constraints(max_flash_bytes=100)).startswith("at least")
    # a board that keeps the point keeps it in the sweep
    emulator = load_board("qemu_mps2_an386")
    mid = screen.SpecCosts(macs=1, params=1_000_000)
    assert screen.screen_spec(mid, [nano], Constraints()) is not None
    assert screen.screen_spec(mid, [nano, emulator], Constraints()) is None


def test_export_judgement_uses_the_analysis_fit_per_board_and_the_constraints():
    nano, emulator = load_board("nano33ble"), load_board("qemu_mps2_an386")
    fits = {"nano33ble": (False, ("arena too big",)), "qemu_mps2_an386": (True, ())}
    assert screen.judge_export(1000, 500, fits, [nano], Constraints(), 10) == "nano33ble: arena too big"
    assert screen.judge_export(1000, 500, fits, [nano, emulator], Constraints(), 10) is None
    assert "max_arena_bytes" in screen.judge_export(1000, 500, fits, [nano, emulator], Constraints(max_arena_bytes=400), 10)


# --- the front -------------------------------------------------------------------------------------


def row(key, acc, ms, flash, arena, fits=1, status="done", conv="separable"):
    return {"key": key, "name": key, "status": status, "conv": conv, "accuracy_int8": acc, "est_ms_b": ms,
            "flash_bytes": flash, "arena_bytes": arena, "fits_b": fits}


def test_front_keeps_exactly_the_points_nothing_beats_everywhere():
    rows = [
        row("fast", 0.80, 5.0, 50_000, 10_000),
        row("accurate", 0.95, 40.0, 200_000, 40_000),
        row("dominated", 0.79, 6.0, 60_000, 11_000),  # fast beats it on everything
        row("small", 0.70, 9.0, 20_000, 12_000),  # smallest flash: on the front
        row("tie", 0.80, 5.0, 50_000, 10_000),  # equal to fast: neither beats the other
        row("too_big", 0.99, 1.0, 1_000, 1_000, fits=0),
        row("failed", None, None, None, None, status="failed"),
        row("pruned", None, None, 900_000, 90_000, status="infeasible"),
    ]
    front = pareto.front(rows, "b", Constraints())
    assert front.keys == ("accurate", "fast", "tie", "small")
    assert front.candidates == 5
    # a constraint takes candidates away before the front is drawn
    assert pareto.front(rows, "b", Constraints(max_ms=20, min_accuracy=0.75)).keys == ("fast", "tie")
    # no estimated ms anywhere: the objective is left out, not the points
    for r in rows:
        r["est_ms_b"] = None
    front = pareto.front(rows, "b", Constraints())
    assert [o.column for o in front.objectives] == ["accuracy_int8", "flash_bytes", "arena_bytes"]
    assert "small" in front.keys and "dominated" not in front.keys


def test_dominance_is_strict_and_respects_direction():
    kept = pareto.objectives("b")
    a, b = row("a", 0.9, 5, 10, 10), row("b", 0.9, 5, 10, 11)
    assert pareto.dominates(a, b, kept) and not pareto.dominates(b, a, kept)
    assert not pareto.dominates(a, dict(a, key="a2"), kept)


# --- the store and the lock -----------------------------------------------------------------------


def test_store_is_sqlite_in_wal_mode_with_the_issue_columns(tmp_path):
    store = SweepStore(tmp_path / "sweep.sqlite", ["nano33ble"])
    store.insert([{"key": "k1", "name": "n1", "status": "running", "conv": "standard"}])
    store.update("k1", accuracy_int8=0.5, est_ms_nano33ble=1.5, fits_nano33ble=1)
    assert store.redo_running() == 1
    store.close()
    db = sqlite3.connect(tmp_path / "sweep.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    names = [r[1] for r in db.execute("PRAGMA table_info(points)")]
    for column in ("key", "status", "reason", "conv", "alpha", "resolution", "channels", "blocks", "classes",
                   "epochs", "accuracy_float", "accuracy_int8", "macs", "flash_bytes", "arena_bytes",
                   "est_ms_nano33ble", "fits_nano33ble"):
        assert column in names, column
    assert db.execute("SELECT status, est_ms_nano33ble FROM points").fetchone() == ("pending", 1.5)
    # another board later: its columns are added, the rows stay
    SweepStore(tmp_path / "sweep.sqlite", ["nano33ble", "other"]).close()
    names = [r[1] for r in sqlite3.connect(tmp_path / "sweep.sqlite").execute("PRAGMA table_info(points)")]
    assert "est_ms_other" in names and "fits_other" in names


HOLD = """
import sys, time
from pipeline.sweep.store import SweepLock
lock = SweepLock(sys.argv[1]).acquire()
print("held", flush=True)
time.sleep(60)
"""


def test_a_second_sweep_is_refused_while_the_first_holds_the_folder(tmp_path):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(PipelineError, match="in use by another tinyml sweep"):
            check_unlocked(out)
        with pytest.raises(PipelineError, match=rf"pid {holder.pid} "):
            SweepLock(out).acquire()
        space = write(tmp_path, "[space]\nconv='standard'\nalpha=0.25\nresolution=16\nblocks=2\n")
        proc = tinyml("sweep", "--space", space, "--out", out, "--no-emulate")
        assert proc.returncode == 2
        assert len(proc.stderr.strip().splitlines()) == 1 and "in use by another tinyml sweep" in proc.stderr
        assert sorted(p.name for p in out.iterdir()) == [LOCK]
    finally:
        holder.kill()
        holder.wait()
    # the holder is gone: its lock file stays, and is taken over
    assert (out / LOCK).is_file()
    check_unlocked(out)
    lock = SweepLock(out).acquire()
    lock.release()


@pytest.mark.parametrize("case", ["space", "workers", "address", "resume", "data", "budget", "board"])
def test_bad_sweep_inputs_fail_in_one_line_before_anything_is_written(tmp_path, case):
    space = write(tmp_path, "[space]\nconv='standard'\nalpha=0.25\nresolution=16\nblocks=2\n")
    out = tmp_path / "out"
    extra, expected = {
        "space": (["--space", write(tmp_path, "[space]\nconv='x'\n", "bad.toml")], "2 errors"),
        "workers": (["--space", space, "--workers", "0"], "--workers 0"),
        "address": (["--space", space, "--address", "auto"], "add --engine ray"),
        "resume": (["--resume"], "no sweep in"),
        "data": (["--space", space, "--data", tmp_path / "missing"], "not found"),
        "budget": (["--space", space, "--budget", "soon"], "--budget = 'soon'"),
        "board": (["--space", space, "--board", "nano99"], "unknown board 'nano99'"),
    }[case]
    start = time.monotonic()
    proc = tinyml("sweep", "--out", out, "--no-emulate", *extra)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and expected in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()
    assert time.monotonic() - start < 60  # no worker started, no TensorFlow imported


def test_resume_refuses_options_that_would_make_another_sweep(tmp_path):
    proc = tinyml("sweep", "--out", tmp_path / "out", "--resume", "--epochs", "3")
    assert proc.returncode == 2 and "leave out --epochs" in proc.stderr


def test_point_names_are_stable_c_identifiers():
    point = {"conv": "separable", "alpha": 0.125, "resolution": 32, "channels": 1, "blocks": 5, "classes": None,
             "epochs": 8}
    assert point_name(point) == "sep_a0p125_r32_b5_c1_e8"
    assert point_spec({**point, "classes": 4}).name == "sep_a0p125_r32_b5_c1_e8_k4"
    assert math.isclose(point_spec(point).alpha, 0.125)


def test_board_option_replaces_the_space_files_boards(tmp_path):
    from pipeline.sweep.settings import _boards

    space = load_space(write(tmp_path, """
        boards = ["qemu_mps2_an386"]
        [space]
        conv = "standard"
        alpha = 0.25
        resolution = 16
        blocks = 2
    """))
    assert [b.key for b in _boards(space, None)] == ["qemu_mps2_an386"]
    assert [b.key for b in _boards(space, "nano33ble")] == ["nano33ble"]
    assert [b.key for b in _boards(load_space(write(tmp_path, "[space]\nconv='standard'\nalpha=1\nresolution=16\n"
                                                              "blocks=2\n", "bare.toml")), None)] == ["nano33ble"]


def test_trainings_start_with_the_most_work_so_workers_finish_together(tmp_path):
    """Pruning runs first and fills the training queue; the largest training (MACs times epochs)
    leaves it first, whatever the space file's order (here the smallest first)."""
    from pipeline.sweep.run import SweepEvents, _Sweep
    from pipeline.sweep.settings import SweepRequest, prepare, settings_for
    from pipeline.sweep.tasks import TRAIN

    space = write(tmp_path, """
        [space]
        conv = ["separable", "standard"]
        alpha = [0.25, 0.5]
        resolution = [16, 24]
        blocks = 2
        epochs = [1, 3]
    """)
    request = SweepRequest(out=tmp_path / "out", settings=settings_for(space, emulate=False))
    (tmp_path / "out").mkdir()
    sweep = _Sweep(prepare(request), request, SweepEvents())
    try:
        sweep.setup()
        for key in sweep.keys:
            sweep._queue(TRAIN, key)
        order = [sweep.queues[TRAIN].popleft() for _ in sweep.keys]
    finally:
        sweep.close()
    work = [screen.spec_costs(sweep.specs[k], sweep.specs[k].classes).macs * sweep.specs[k].epochs
            for k in order]
    assert len(set(work)) == len(work) == 16
    assert work == sorted(work, reverse=True)
    assert order != sweep.keys  # the file's order is not the largest first
