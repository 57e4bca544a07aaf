"""A stand-in for a training script: no dependencies, a few seconds, real checkpoints.

Sweep passes the parameters as options (--lr=0.01 --batch_size=32 --epochs=5), reads the metrics this
prints ("@sweep {...}" lines), and gives every trial its own directory (SWEEP_TRIAL_DIR) that a
rescheduled attempt gets back, so the loop resumes from its last checkpoint.
"""
import argparse
import json
import math
import os
import time

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, required=True)
parser.add_argument("--batch_size", type=int, required=True)
parser.add_argument("--epochs", type=int, default=5)
args = parser.parse_args()

checkpoint = os.path.join(os.environ.get("SWEEP_TRIAL_DIR", "."), "checkpoint.json")
start = 0
if os.path.exists(checkpoint):
    with open(checkpoint) as f:
        start = json.load(f)["epoch"]
    print(f"resuming from epoch {start}")

for epoch in range(start + 1, args.epochs + 1):
    time.sleep(0.2)  # the "training"
    # A made-up loss surface with its minimum near lr=0.01 and a mild batch-size effect.
    val_loss = (math.log10(args.lr) + 2) ** 2 + 1.0 / epoch + args.batch_size / 1000
    print("@sweep " + json.dumps({"step": epoch, "val_loss": round(val_loss, 6)}), flush=True)
    with open(checkpoint, "w") as f:
        json.dump({"epoch": epoch}, f)
