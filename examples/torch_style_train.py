"""A trial written the way PyTorch training scripts are: parameters with defaults, a model, an epoch loop that
checkpoints and resumes, metrics reported per epoch, and a cache that broadcast updates refresh while it trains.

Plain Python stands in for torch so it runs anywhere; with torch, `model` is an nn.Module, `loss` a tensor, and
`report(epoch, **{"val/loss": loss})` takes the tensor as it is. Runs unchanged by hand:

    PYTHONPATH=$(sweep python-path) python examples/torch_style_train.py
and under Sweep:
    sweep start examples/torch_style.yml --wait
"""
import json
import math
import os
import random
import threading

from sweep_helper import checkpoint_dir, on_update, params, report

p = params({"lr": 0.01, "batch_size": 32, "epochs": 5, "seed": 0})
random.seed(p["seed"])

# Broadcast updates (`sweep signal update <sweep> temperature=0.5`) arrive on a background thread: guard what the
# loop shares with it.
cache = {"temperature": 1.0}
cache_lock = threading.Lock()


def refresh(update):
    with cache_lock:
        cache.update(update["data"])


on_update(refresh, replay=True)

# The "model": one weight, trained towards 3.0 by noisy gradient steps.
model = {"weight": 0.0}
start_epoch = 0
checkpoint = os.path.join(checkpoint_dir(), "checkpoint.json")
if os.path.exists(checkpoint):
    with open(checkpoint) as f:
        saved = json.load(f)
    model, start_epoch = saved["model"], saved["epoch"]
    print(f"resuming from epoch {start_epoch}", flush=True)

for epoch in range(start_epoch + 1, p["epochs"] + 1):
    for _ in range(max(1, 256 // p["batch_size"])):
        gradient = 2 * (model["weight"] - 3.0) + random.gauss(0, 1 / math.sqrt(p["batch_size"]))
        model["weight"] -= p["lr"] * gradient
    with cache_lock:
        temperature = cache["temperature"]
    train_loss = (model["weight"] - 3.0) ** 2
    report(epoch, **{"train/loss": train_loss, "val/loss": train_loss * temperature + 0.01})
    # Written whole, then renamed: a worker killed mid-write leaves the previous checkpoint intact.
    with open(checkpoint + ".tmp", "w") as f:
        json.dump({"model": model, "epoch": epoch}, f)
    os.replace(checkpoint + ".tmp", checkpoint)
