"""`studio batch`: every model on every image of a dataset through the comparison engine, resumable.

plan.py (the cells, pure), dataset.py (which images), job.py (what a runner needs and the runner seam),
local.py (this process runs the cells), journal.py (append-only record of finished cells and run.json),
stats.py / tables.py (per-model aggregates and the files), run.py (the run from start to files).
"""
