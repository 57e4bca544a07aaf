"""A trial that uses the Python helper: parameters, metrics, a checkpoint, and cache updates as they arrive.

    sweep start examples/broadcast.yml          # prints the sweep ID
    sweep signal update <ID> lr_scale=0.5       # every running trial prints "update 1: ..."
    sweep logs <ID> 0 --follow
"""
import json
import os
import time

from sweep_helper import checkpoint_dir, on_update, params, report, updates

p = params()
cache = {}
for update in updates():  # everything broadcast before this trial started
    cache.update(update["data"])


def apply(update):
    cache.update(update["data"])
    print(f"update {update['version']}: {json.dumps(update['data'])}", flush=True)


on_update(apply)

state_file = os.path.join(checkpoint_dir(), "state.json")
start = json.load(open(state_file))["step"] if os.path.exists(state_file) else 0
for step in range(start + 1, p["steps"] + 1):
    time.sleep(1)
    lr = p["lr"] * cache.get("lr_scale", 1.0)
    report(step, loss=round(1.0 / (step * lr * 100 + 1), 6), lr=lr)
    with open(state_file, "w") as f:
        json.dump({"step": step}, f)
