"""A worker class (distributed_computing's): loaded once per GPU, then one run() per trial.

    cd examples/worker_class
    sweep worker --gpu 0 --python trainer:Trainer &   # one per GPU; --cpu-slots 1 on a machine without one
    sweep start sweep.yml --wait                      # or: PYTHONPATH=$(sweep python-path) python3 driver.py

Standard library only; the "data" and the "training" are stand-ins.
"""
import math
import os
import time


class Trainer:
    def __init__(self, init_data):
        # The expensive part: once per worker process, kept for every trial it runs.
        time.sleep(1)  # "loading data"
        self.dataset = init_data.get("dataset", "toy")
        self.scale = init_data.get("scale", 1.0)
        self.updates = []
        print(f"loaded {self.dataset}, GPU {os.environ.get('CUDA_VISIBLE_DEVICES') or 'none'}", flush=True)

    def handle_update(self, data):
        # While a trial runs, and before a trial starts for every update this process has not seen yet.
        self.updates.append(data)

    def run(self, lr, batch_size):
        time.sleep(0.2)  # the "training"
        # A made-up loss with its minimum near lr=0.01 and a mild batch-size effect.
        loss = self.scale * ((math.log10(lr) + 2) ** 2 + batch_size / 1000)
        # The whole dict is the trial's result; its numbers are also its metrics.
        return {"loss": round(loss, 6), "updates_seen": len(self.updates), "dataset": self.dataset}
