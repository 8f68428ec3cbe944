"""tinyml sweep end to end, for real: the local pool of worker processes and a local Ray cluster
(`ray.init(num_cpus=2)`) on the same small space of the digits, resumed, stopped with Ctrl-C,
workers killed and recycled, and (with the TFLM library) emulated."""

import csv
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.sweep.store import columns

# 8 points: 4 evaluated; 3 ruled out by their untrained export (flash over the constraint) and
# 1 by its spec's bound alone (std, alpha 0.5, 3 blocks: 60,688 weights > 16,000 B).
SPACE = """
[space]
conv = ["standard", "separable"]
alpha = [0.25, 0.5]
resolution = 16
blocks = [2, 3]
[constraints]
max_flash_bytes = 16_000
"""
EVALUATED = {"std_a0p25_r16_b2_c1_e1", "sep_a0p25_r16_b2_c1_e1", "sep_a0p5_r16_b2_c1_e1", "sep_a0p25_r16_b3_c1_e1"}
COMPARED = ("name", "status", "conv", "alpha", "resolution", "blocks", "classes", "epochs", "accuracy_float",
            "accuracy_int8", "macs", "params", "flash_bytes", "arena_bytes", "fits_nano33ble", "tflite_sha256")


def tinyml(*args, timeout=900, **kwargs):
    return subprocess.run([sys.executable, "-m", "pipeline", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, **kwargs)


def sweep(root: Path, out: str, *extra, space: str = SPACE):
    (root / "space.toml").write_text(space)
    return tinyml("sweep", "--space", root / "space.toml", "--out", root / out, "--epochs", "1", "--no-emulate",
                  *extra)


def rows(out: Path) -> dict[str, dict]:
    db = sqlite3.connect(out / "sweep.sqlite")
    db.row_factory = sqlite3.Row
    return {r["name"]: dict(r) for r in db.execute("SELECT * FROM points")}


@pytest.fixture(scope="module")
def pool_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    proc = sweep(root, "pool", "--workers", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    (root / "pool.stderr").write_text(proc.stderr)
    (root / "pool.stdout").write_text(proc.stdout)
    return root


def test_pool_sweep_prunes_before_training_and_evaluates_the_rest(pool_dir):
    out = pool_dir / "pool"
    found = rows(out)
    assert len(found) == 8
    assert {n for n, r in found.items() if r["status"] == "done"} == EVALUATED
    infeasible = {n: r for n, r in found.items() if r["status"] == "infeasible"}
    assert set(infeasible) == set(found) - EVALUATED
    for name, r in infeasible.items():  # never trained, with the reason
        assert r["accuracy_int8"] is None and r["train_s"] is None and r["tflite"] is None
        assert "max_flash_bytes 16,000" in r["reason"]
    assert infeasible["std_a0p5_r16_b3_c1_e1"]["reason"].startswith("at least 60,688 B of int8 weights")
    assert infeasible["std_a0p5_r16_b3_c1_e1"]["prune_s"] is None  # the spec's bound: not even exported
    assert infeasible["std_a0p25_r16_b3_c1_e1"]["flash_bytes"] > 16_000  # exported and sized
    for name in EVALUATED:
        r = found[name]
        assert 0 <= r["accuracy_int8"] <= 1 and r["accuracy_float"] is not None
        assert r["macs"] > 0 and r["flash_bytes"] <= 16_000 and r["arena_bytes"] > 0 and r["fits_nano33ble"] == 1
        assert (out / r["tflite"]).is_file() and r["tflite"].endswith(f"/{name}.tflite")
    stdout = (pool_dir / "pool.stdout").read_text()
    assert "sweep: 8 points: 4 done, 4 infeasible" in stdout


def test_outputs_have_the_table_columns_and_the_front_per_board(pool_dir):
    out = pool_dir / "pool"
    with open(out / "sweep.csv") as f:
        table = list(csv.DictReader(f))
    assert list(table[0]) == columns(["nano33ble"])
    assert len(table) == 8
    document = json.loads((out / "sweep.json").read_text())
    front = document["front"]["nano33ble"]
    done = {r["key"] for r in table if r["status"] == "done"}
    assert front and set(front) <= done
    assert document["objectives"]["nano33ble"] == ["accuracy_int8", "flash_bytes", "arena_bytes"]  # no emulation
    md = (out / "sweep.md").read_text()
    assert "## Pareto front on the Arduino Nano 33 BLE Sense" in md and "## Ruled out before training" in md
    for name in ("accuracy_vs_ms", "flash_vs_ms", "flash_vs_arena"):
        assert (out / f"sweep_{name}_nano33ble.png").stat().st_size > 10_000


def test_every_point_names_a_tflite_the_other_commands_take(pool_dir):
    out = pool_dir / "pool"
    document = json.loads((out / "sweep.json").read_text())
    best = next(p for p in document["points"] if p["key"] == document["front"]["nano33ble"][0])
    proc = tinyml("analyze", out / best["tflite"], "--json", "--no-arena")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["total_macs"] == best["macs"]


def test_prune_sizes_exactly_what_training_builds(pool_dir):
    """The untrained export's flash and arena are the trained model's: the prune step judges the
    model that would be deployed, and the spec's own count agrees with both."""
    from pipeline.board import load_board
    from pipeline.model.dataset import load_dataset
    from pipeline.sweep import screen
    from pipeline.sweep.space import point_spec
    from pipeline.sweep.tasks import run_task

    found = rows(pool_dir / "pool")
    data = load_dataset(None)
    for name in ("std_a0p25_r16_b2_c1_e1", "sep_a0p25_r16_b3_c1_e1"):
        r = found[name]
        values = {k: r[k] for k in ("conv", "alpha", "resolution", "channels", "blocks", "epochs")}
        spec = point_spec({**values, "classes": None}).for_data(r["classes"])  # classes follow the data
        result = run_task("prune", {"spec": spec, "boards": [load_board()]}, data)
        assert result.ok, result.reason
        for figure in ("macs", "params", "flash_bytes", "arena_bytes"):
            assert result.values[figure] == r[figure], (name, figure)
        costs = screen.spec_costs(spec, spec.classes)
        assert (costs.macs, costs.params) == (r["macs"], r["params"])
        # a worker's history does not change a point's file (Keras names layers per process)
        again = run_task("prune", {"spec": spec, "boards": [load_board()]}, data)
        assert again.values["flash_bytes"] == r["flash_bytes"]


def test_rerun_keeps_finished_points_and_redoes_interrupted_ones(pool_dir, tmp_path):
    out = tmp_path / "pool"
    shutil.copytree(pool_dir / "pool", out)
    before = rows(out)
    start = time.monotonic()
    proc = sweep(tmp_path, "pool")  # the same command again: nothing to do, no worker started
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert time.monotonic() - start < 60
    assert rows(out) == before
    # a stopped sweep: one point left running mid-training, one trained (its .tflite written)
    # and waiting for the next step, one pruned and not trained yet
    db = sqlite3.connect(out / "sweep.sqlite")
    db.execute("UPDATE points SET status='running', stage='train', accuracy_int8=NULL, accuracy_float=NULL, "
               "tflite=NULL WHERE name='sep_a0p5_r16_b2_c1_e1'")
    db.execute("UPDATE points SET status='pending' WHERE name='std_a0p25_r16_b2_c1_e1'")
    db.execute("UPDATE points SET status='pending', accuracy_int8=NULL, accuracy_float=NULL, tflite=NULL "
               "WHERE name='sep_a0p25_r16_b2_c1_e1'")
    db.commit()
    db.close()
    proc = tinyml("sweep", "--out", out, "--resume", "--workers", "1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "1 point(s) a stopped sweep left running are redone" in proc.stderr
    after = rows(out)
    for name in ("sep_a0p5_r16_b2_c1_e1", "sep_a0p25_r16_b2_c1_e1"):  # trained again
        assert after[name]["status"] == "done" and after[name]["train_s"] != before[name]["train_s"]
        assert after[name]["accuracy_int8"] == before[name]["accuracy_int8"]  # deterministic
    kept = after["std_a0p25_r16_b2_c1_e1"]  # trained already: only finished, not trained again
    assert kept["status"] == "done" and kept["train_s"] == before["std_a0p25_r16_b2_c1_e1"]["train_s"]
    assert after["sep_a0p25_r16_b3_c1_e1"] == before["sep_a0p25_r16_b3_c1_e1"]


def test_changed_constraints_on_a_rerun_bring_pruned_points_back(pool_dir, tmp_path):
    out = tmp_path / "pool"
    shutil.copytree(pool_dir / "pool", out)
    looser = SPACE.replace("16_000", "24_000").replace('alpha = [0.25, 0.5]', 'alpha = 0.25')
    proc = sweep(tmp_path, "pool", "--workers", "1", space=looser)
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = json.loads((out / "sweep.json").read_text())["points"]
    assert len(found) == 4  # the outputs cover this sweep's points; the store keeps the others
    status = {p["name"]: p["status"] for p in found}
    assert status["std_a0p25_r16_b3_c1_e1"] == "done"  # 23,112 B: pruned before, within 24,000 now
    assert len(rows(out)) == 8


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _workers(pid: int) -> list[int]:
    """The sweep's worker processes (multiprocessing's resource tracker is a child too)."""
    return [c for c in _children(pid) if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def _wait_for(out: Path, proc, condition: str, timeout_s: float = 300) -> bool:
    """Polls the sweep's store (as any reader may, while the sweep writes) until a point matches."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.3)
        if (out / "sweep.sqlite").exists():
            try:
                db = sqlite3.connect(out / "sweep.sqlite")
                found = db.execute(f"SELECT count(*) FROM points WHERE {condition}").fetchone()[0]
                db.close()
            except sqlite3.Error:
                continue
            if found:
                return True
    return False


def test_a_dead_worker_fails_its_point_ctrl_c_stops_cleanly_and_resume_finishes(tmp_path):
    """A worker that dies (TensorFlow crashing, the kernel's OOM killer) costs its point, recorded
    with its stage, and the sweep goes on with a new worker; Ctrl-C then stops every worker, keeps
    what is finished and says how to resume; --resume --retry-failed finishes the sweep."""
    (tmp_path / "space.toml").write_text(SPACE)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "sweep", "--space", tmp_path / "space.toml", "--out", out, "--epochs",
         "3", "--no-emulate", "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert _wait_for(out, proc, "status = 'running' AND stage = 'train'"), "no point reached training"
        os.kill(_workers(proc.pid)[0], signal.SIGKILL)
        assert _wait_for(out, proc, "status = 'failed'"), "the dead worker's point was not recorded"
        assert _wait_for(out, proc, "status = 'running' AND stage = 'train'"), "the sweep did not go on"
        workers = _workers(proc.pid)
        assert len(workers) == 2  # the dead one was replaced
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr[-2000:]
    assert f"resume with: tinyml sweep --out {out} --resume" in stderr
    assert "Traceback" not in stderr
    for pid in workers:  # the workers are gone
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    found = rows(out)
    assert not [n for n, r in found.items() if r["status"] == "running"]
    (failed,) = [r for r in found.values() if r["status"] == "failed"]
    assert "the worker process died (killed by SIGKILL)" in failed["reason"] and failed["stage"]
    md = (out / "sweep.md").read_text()
    assert "**Incomplete (interrupted).**" in md and "## Failed points" in md
    proc = tinyml("sweep", "--out", out, "--resume", "--retry-failed", "--workers", "2")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert {n for n, r in rows(out).items() if r["status"] == "done"} == {n.replace("_e1", "_e3") for n in EVALUATED}


@pytest.mark.parametrize("limits, recycled", [
    ({"tasks": 1}, True),                            # its task count
    ({"memory_limit": 1, "tasks": 100}, True),       # more resident memory than its share
    ({"memory_limit": 10**12, "tasks": 100}, False),  # within both: kept (TensorFlow imported once)
])
def test_pool_recycles_a_worker_past_its_task_count_or_memory_share(limits, recycled):
    from pipeline.board import load_board
    from pipeline.model.dataset import load_dataset
    from pipeline.model.specs import ModelSpec
    from pipeline.sweep.pool import LocalPool, TaskDone

    payload = {"spec": ModelSpec("m", "separable", 0.25, 16, 1, 2, 10, 1), "boards": [load_board()]}
    pool = LocalPool(1, load_dataset(None), **limits)
    try:
        first = pool.workers[0].process.pid
        pool.submit(0, "prune", payload)
        deadline, done = time.monotonic() + 300, None
        while done is None and time.monotonic() < deadline:
            done = next((e for e in pool.poll(1.0) if isinstance(e, TaskDone)), None)
        assert done is not None and done.result.ok, done
        assert done.retiring is recycled
        while recycled and pool.started < 2 and time.monotonic() < deadline:  # it retires after its task ...
            pool.poll(1.0)
        assert (pool.workers[0].process.pid != first) is recycled  # ... replaced
        assert pool.workers[0].process.is_alive()
    finally:
        pool.close()


def test_a_workers_memory_share_is_its_part_of_half_the_machine():
    from pipeline.sweep.pool import physical_memory_bytes, resident_bytes, worker_memory_limit

    total = physical_memory_bytes()
    assert total is not None and total > 0
    assert worker_memory_limit(4) == int(total / 8)
    assert 0 < resident_bytes() < total


def test_prune_only_then_a_time_budget_then_the_rest(tmp_path):
    out = tmp_path / "out"
    proc = sweep(tmp_path, "out", "--workers", "2", "--prune-only")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "--prune-only: 4 point(s) pruned and left to train" in proc.stderr
    found = rows(out)
    assert {n for n, r in found.items() if r["status"] == "pending" and r["pruned"]} == EVALUATED
    assert all(r["train_s"] is None for r in found.values())
    assert (out / "sweep_flash_vs_arena_nano33ble.png").is_file()
    assert not (out / "sweep_accuracy_vs_ms_nano33ble.png").exists()  # nothing evaluated yet
    proc = tinyml("sweep", "--out", out, "--resume", "--workers", "1", "--budget", "1s")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "the time budget (1s) is spent" in proc.stderr and "--resume" in proc.stderr
    statuses = [r["status"] for r in rows(out).values()]
    assert "pending" in statuses and "running" not in statuses
    assert "**Incomplete (the time budget" in (out / "sweep.md").read_text()
    proc = tinyml("sweep", "--out", out, "--resume", "--budget", "1h", "--workers", "2")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert {n for n, r in rows(out).items() if r["status"] == "done"} == EVALUATED


def test_ray_runs_the_same_sweep_to_the_same_results(pool_dir):
    pytest.importorskip("ray", reason="Ray is not installed: pip install '.[ray]' (CI installs it)")
    proc = sweep(pool_dir, "ray", "--engine", "ray", "--workers", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    pool, ray = rows(pool_dir / "pool"), rows(pool_dir / "ray")
    assert set(pool) == set(ray)
    for name in pool:
        for column in COMPARED:
            assert pool[name][column] == ray[name][column], (name, column)
        assert pool[name]["key"] == ray[name]["key"]
    assert json.loads((pool_dir / "ray" / "sweep.json").read_text())["front"] == \
        json.loads((pool_dir / "pool" / "sweep.json").read_text())["front"]


@pytest.mark.tflm
def test_emulated_points_get_estimated_ms_and_the_front_uses_them(tmp_path):
    if not os.environ.get("TFLM_ARDUINO_DIR"):
        pytest.skip("TFLM_ARDUINO_DIR not set: the sweep's emulation needs the TFLM Arduino library (DEVELOPERS.md)")
    space = SPACE.replace("alpha = [0.25, 0.5]", "alpha = 0.25").replace("blocks = [2, 3]", "blocks = 2")
    (tmp_path / "space.toml").write_text(space)
    proc = tinyml("sweep", "--space", tmp_path / "space.toml", "--out", tmp_path / "out", "--epochs", "0",
                  "--emulate", "--workers", "2", timeout=3600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = rows(tmp_path / "out")
    assert {r["status"] for r in found.values()} == {"done"}
    for r in found.values():
        assert r["emulated"] == 1 and r["instructions"] > 0 and r["est_ms_nano33ble"] > 0
        assert r["arena_used_bytes"] == r["arena_bytes"]  # the exact prediction, measured in QEMU
        # The firmware verified on the whole test split: the model validated is the one that runs.
        assert r["bit_exact_share"] == 1.0 and r["accuracy_firmware"] == r["accuracy_int8"]
    std, sep = found["std_a0p25_r16_b2_c1_e0"], found["sep_a0p25_r16_b2_c1_e0"]
    assert sep["est_ms_nano33ble"] < std["est_ms_nano33ble"]
    document = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert "est_ms_nano33ble" in document["objectives"]["nano33ble"]
