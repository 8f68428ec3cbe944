"""`tinyml sweep`: a design space of MobileNet variants, pruned before training, evaluated on a
local process pool or a Ray cluster, stored in SQLite, and judged per board by its Pareto front
(docs/sweep.md).

  space.py    the space file: fields as values, lists or ranges; boards, constraints, strategy
  screen.py   what a spec costs and what rules a point out before (or without) training
  pareto.py   the front over accuracy, estimated ms, flash and arena
  store.py    DIR/sweep.sqlite (the driver process is its only writer) and the folder's lock
  tasks.py    the work of one point, run in a worker: prune, train, emulate
  pool.py     the local pool of long-lived, recycled worker processes
  ray_engine.py  the same tasks on a Ray cluster (optional extra)
  settings.py what defines a sweep (kept for --resume) and the checks before it runs
  run.py      the sweep itself: scheduling, progress, resume, interrupt
  outputs.py  sweep.md, sweep.csv, sweep.json; plots.py their figures
"""
