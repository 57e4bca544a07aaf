"""What a Python trial needs from Sweep, with nothing to install: the worker puts this folder on PYTHONPATH
(by hand: PYTHONPATH=$(sweep python-path) python train.py, and the script runs as it does under Sweep).

    from sweep_helper import params, report, checkpoint, updates, on_update, wait_for_update, checkpoint_dir

    p = params({"lr": 0.01, "batch_size": 64})     # the trial's parameters; these defaults outside a sweep
    on_update(lambda u: cache.update(u["data"]))   # cache updates broadcast with `sweep signal update`
    for step in range(start, steps):
        ...
        report(step, **{"val/loss": loss})         # a metric line Sweep parses; numpy and torch scalars too
        torch.save(state, path); checkpoint(step, path)  # saved: `sweep pause --hold` may stop the trial here
"""
import json
import os
import threading
import time

__all__ = [
    "params", "report", "checkpoint", "updates", "on_update", "wait_for_update", "checkpoint_dir", "attempt", "resume",
]

_PREFIX = "@sweep "
_CHECKPOINT = "@sweep-checkpoint"


def params(defaults=None):
    """This trial's parameters, as the sweep rendered them, over `defaults`; outside a sweep, the defaults alone."""
    given = json.loads(os.environ.get("SWEEP_PARAMS", "{}"))
    return {**(defaults or {}), **given}


def checkpoint_dir():
    """This trial's directory: keep checkpoints here; a rescheduled attempt gets the same one back."""
    return os.environ.get("SWEEP_TRIAL_DIR", ".")


def attempt():
    """1 for the first attempt, 2 after a retry or a lost worker, ..."""
    return int(os.environ.get("SWEEP_ATTEMPT", "1"))


# JSON has no NaN or infinity, so Sweep carries those metric values as these strings.
_NON_FINITE = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}


def resume():
    """The previous attempt's last progress ({"step": ..., "metrics": {...}, "checkpoint": {"step": ..., "path": ...}})
    when its worker was lost or it was held at a checkpoint (`sweep pause --hold`), else None."""
    text = os.environ.get("SWEEP_RESUME")
    if not text:
        return None
    progress = json.loads(text)
    metrics = progress.get("metrics")
    if isinstance(metrics, dict):
        progress["metrics"] = {k: _NON_FINITE.get(v, v) if isinstance(v, str) else v for k, v in metrics.items()}
    return progress


def _number(name, value):
    """A metric as JSON carries it: numpy and torch scalars (and 0-d arrays) by their .item(), NaN and infinities as
    the strings Sweep reads back as values."""
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, (int, float)):
        try:
            value = item()
        except (TypeError, ValueError):
            raise TypeError(f"report(): metric {name!r} holds {type(value).__name__} with more than one value") from None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"report(): metric {name!r} is {type(value).__name__}, not a number") from None
    if number != number:
        return "nan"
    if number in (float("inf"), float("-inf")):
        return "inf" if number > 0 else "-inf"
    return number


def report(step=None, metrics=None, **more):
    """Reports metrics (and the step) to Sweep: one line on stdout that the worker parses. Names may hold "/"
    (`report(step, **{"val/loss": x})`, or `report(step, metrics={"val/loss": x})`)."""
    record = {name: _number(name, value) for name, value in {**(metrics or {}), **more}.items()}
    if step is not None:
        record["step"] = _number("step", step)
    print(_PREFIX + json.dumps(record), flush=True)


def checkpoint(step=None, path=None):
    """Tells Sweep the trial has just saved its state (call it after the file is complete): while its sweep is
    paused with `sweep pause --hold`, the worker stops the trial here (SIGTERM) and a later attempt resumes
    from it; `resume()["checkpoint"]` then says which step and path were last reported."""
    record = {}
    if step is not None:
        record["step"] = _number("step", step)
    if path is not None:
        record["path"] = str(path)
    print(_CHECKPOINT + (" " + json.dumps(record) if record else ""), flush=True)


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


def wait_for_update(timeout=None, since=None, poll_seconds=0.05):
    """Blocks until an update newer than `since` (default: the newest one there now) arrives and returns it;
    None after `timeout` seconds. For scripts that would rather wait than be called back."""
    existing, offset = _read_updates()
    if since is None:
        since = existing[-1]["version"] if existing else 0
    else:
        newer = [update for update in existing if update["version"] > since]
        if newer:
            return newer[0]
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        fresh, offset = _read_updates(offset)
        newer = [update for update in fresh if update["version"] > since]
        if newer:
            return newer[0]
        if deadline is not None and time.monotonic() >= deadline:
            return None
        time.sleep(poll_seconds)


def on_update(callback, replay=False, poll_seconds=0.1):
    """Calls callback(update) for each update that arrives from now on, in order (with replay=True, first for
    those already there). It is called on a background daemon thread named "sweep-updates", never the main one:
    keep it short, and guard what it shares with the training loop (a lock, or a queue.Queue). Returns the thread."""
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
