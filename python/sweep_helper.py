"""What a Python trial needs from Sweep, with nothing to install: the worker puts this folder on PYTHONPATH.

    from sweep_helper import params, report, updates, on_update, checkpoint_dir

    p = params()                                   # {"lr": 0.01, "batch_size": 64}
    on_update(lambda u: cache.update(u["data"]))   # cache updates broadcast with `sweep signal update`
    for step in range(start, steps):
        ...
        report(step, val_loss=loss)                # a metric line Sweep parses
"""
import json
import os
import threading
import time

__all__ = ["params", "report", "updates", "on_update", "checkpoint_dir", "attempt", "resume"]

_PREFIX = "@sweep "


def params():
    """This trial's parameters, as the sweep rendered them."""
    return json.loads(os.environ.get("SWEEP_PARAMS", "{}"))


def checkpoint_dir():
    """This trial's directory: keep checkpoints here; a rescheduled attempt gets the same one back."""
    return os.environ.get("SWEEP_TRIAL_DIR", ".")


def attempt():
    """1 for the first attempt, 2 after a retry or a lost worker, ..."""
    return int(os.environ.get("SWEEP_ATTEMPT", "1"))


# JSON has no NaN or infinity, so Sweep carries those metric values as these strings.
_NON_FINITE = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}


def resume():
    """The previous attempt's last progress ({"step": ..., "metrics": {...}}) when its worker was lost, else None."""
    text = os.environ.get("SWEEP_RESUME")
    if not text:
        return None
    progress = json.loads(text)
    metrics = progress.get("metrics")
    if isinstance(metrics, dict):
        progress["metrics"] = {k: _NON_FINITE.get(v, v) if isinstance(v, str) else v for k, v in metrics.items()}
    return progress


def report(step=None, **metrics):
    """Reports metrics (and the step) to Sweep: one line on stdout that the worker parses."""
    record = dict(metrics)
    if step is not None:
        record["step"] = step
    print(_PREFIX + json.dumps(record), flush=True)


def _read_updates(offset=0):
    path = os.environ.get("SWEEP_UPDATES")
    if not path or not os.path.exists(path):
        return [], offset
    with open(path, "rb") as f:
        f.seek(offset)
        chunk = f.read()
    # Only complete lines: the worker appends each update in one write ending with a newline.
    end = chunk.rfind(b"\n") + 1
    lines = chunk[:end].decode("utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()], offset + end


def updates():
    """Every cache update so far, oldest first: [{"version": 1, "at": ..., "data": {...}}, ...]."""
    return _read_updates()[0]


def on_update(callback, replay=False, poll_seconds=0.1):
    """Calls callback(update) from a background thread for each update that arrives from now on, in order
    (with replay=True, first for those already there). Returns the thread."""
    existing, offset = _read_updates()
    if replay:
        for update in existing:
            callback(update)

    def follow():
        nonlocal offset
        while True:
            fresh, offset = _read_updates(offset)
            for update in fresh:
                callback(update)
            time.sleep(poll_seconds)

    thread = threading.Thread(target=follow, name="sweep-updates", daemon=True)
    thread.start()
    return thread
