"""Runs one persistent worker class for a `sweep worker --python module:Class` (started by the worker, never by hand).

The class is distributed_computing's: `__init__(init_data)` once (the expensive part), `run(**params)` per trial,
`handle_update(data)` for each broadcast update: while a trial runs, and every update missed so far before a trial
of that sweep starts. Standard library only.

Messages: the worker writes JSON lines on stdin; this process answers with JSON lines on fd 3, so the user's own
prints (fd 1 and 2) stay the trial's logs. The worker being gone (stdin closes) kills this process group at once.
"""
import importlib
import inspect
import json
import os
import queue
import signal
import sys
import threading
import time
import traceback

MAX_RESULT_BYTES = 65536

_events = os.fdopen(3, "w", buffering=1, encoding="utf-8")
_events_lock = threading.Lock()


def _send(event, **fields):
    with _events_lock:
        _events.write(json.dumps({"event": event, **fields}) + "\n")
        _events.flush()


def _spread(data):
    """distributed_computing's {'args': [...], 'kwargs': {...}} form spreads; anything else is one argument."""
    if isinstance(data, dict) and set(data) <= {"args", "kwargs"} and data:
        return list(data.get("args", [])), dict(data.get("kwargs", {}))
    return [data], {}


def _json_safe(value):
    """NaN and infinities as Sweep carries them everywhere ("nan", "inf", "-inf"): JSON has no such numbers. numpy
    and torch scalars (and 0-d arrays) become their .item()."""
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, (bool, int, float, str, list, tuple, dict)):
        try:
            value = item()
        except (TypeError, ValueError):
            pass
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _write_atomically(path, text):
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


class _Host:
    def __init__(self, cls):
        self.cls = cls
        self.instance = None
        # Per sweep, the newest update version this instance has handled: none is handled twice.
        self.seen = {}
        self.lock = threading.Lock()

    def init(self, message):
        self.instance = None
        self.seen = {}
        try:
            if "data" in message:
                args, kwargs = _spread(message["data"])
                self.instance = self.cls(*args, **kwargs)
            else:
                self.instance = self.cls()
        except BaseException:
            traceback.print_exc()
            sys.stderr.flush()
            _send("init-failed", traceback=traceback.format_exc(limit=20))
            return
        _send("ready")

    def update(self, sweep, version, data):
        with self.lock:
            if self.instance is None or version <= self.seen.get(sweep, 0):
                return
            self.seen[sweep] = version
            handler = getattr(self.instance, "handle_update", None)
            if handler is None:
                return
            try:
                if isinstance(data, dict) and set(data) <= {"args", "kwargs"} and data:
                    handler(*data.get("args", []), **data.get("kwargs", {}))
                else:
                    handler(data)
            except BaseException:
                print(f"[sweep] handle_update raised on update {version}:", file=sys.stderr)
                traceback.print_exc()
                sys.stderr.flush()

    def run(self, message):
        os.environ.update(message.get("env", {}))
        for update in message.get("updates", []):
            self.update(message["sweep"], update["version"], update["data"])
        params = message.get("params", {})
        if isinstance(params, dict) and set(params) <= {"args", "kwargs"} and params:
            args, kwargs = list(params.get("args", [])), dict(params.get("kwargs", {}))
        else:
            args, kwargs = [], dict(params)
        status = 0
        started_ms = int(time.time() * 1000)
        try:
            value = self.instance.run(*args, **kwargs)
            text = json.dumps({"run": message["run_id"], "value": _json_safe(value)}, allow_nan=False)
            if len(text) > MAX_RESULT_BYTES:
                raise ValueError(
                    f"run() returned {len(text)} bytes of JSON; a result may have at most {MAX_RESULT_BYTES}: "
                    "write bigger outputs into sweep_helper.checkpoint_dir()"
                )
            _write_atomically(message["value_file"], text)
        except BaseException as error:
            if isinstance(error, TypeError) and "JSON serializable" in str(error):
                print(f"[sweep] run() returned a value that JSON cannot hold: {error}", file=sys.stderr)
            else:
                traceback.print_exc()
            sys.stdout.flush()
            sys.stderr.flush()
            status = 1
        sys.stdout.flush()
        sys.stderr.flush()
        # Recorded before it is reported: a worker that dies in between leaves the outcome to whoever takes over.
        ended_ms = int(time.time() * 1000)
        _write_atomically(
            message["exit_file"], f"{status} {message['run_id']} {message['worker']} {started_ms} {ended_ms}\n"
        )
        _send("ended", status=status)


def _load(ref):
    module_name, _, class_name = ref.partition(":")
    sys.path.insert(0, os.getcwd())
    module = importlib.import_module(module_name)
    cls = getattr(module, class_name, None)
    if not inspect.isclass(cls):
        raise ImportError(f"module {module_name} ({module.__file__}) has no class {class_name}")
    if not callable(getattr(cls, "run", None)):
        raise ImportError(f"{ref} has no run() method")
    return cls, os.path.abspath(inspect.getfile(module))


def _read_messages(host, runs):
    for line in sys.stdin:
        if not line.strip():
            continue
        message = json.loads(line)
        op = message["op"]
        if op == "update":
            # Handled here, on this thread, while run() goes on in the main one.
            host.update(message["sweep"], message["version"], message["data"])
        else:
            runs.put(message)
    # The worker is gone: nothing of this process group may outlive it.
    os.killpg(os.getpgrp(), signal.SIGKILL)


def main():
    try:
        cls, file = _load(sys.argv[1])
    except BaseException:
        traceback.print_exc()
        _send("load-failed", traceback=traceback.format_exc(limit=20))
        sys.exit(1)
    host = _Host(cls)
    runs = queue.Queue()
    threading.Thread(target=_read_messages, args=(host, runs), name="sweep-messages", daemon=True).start()
    _send("loaded", file=file)
    while True:
        message = runs.get()
        if message["op"] == "init":
            host.init(message)
        elif message["op"] == "run":
            host.run(message)


if __name__ == "__main__":
    main()
