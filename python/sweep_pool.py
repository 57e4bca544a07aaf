"""distributed_computing's Pool, on Sweep: nothing to install (run with PYTHONPATH=$(sweep python-path)).

    from sweep_pool import Pool
    from trainer import Trainer

    with Pool(Trainer, {"data": "/datasets/mnist"}) as p:
        p.wait_for_workers(2)
        results = p.map([{"lr": 0.1}, {"lr": 0.01}])       # in input order
        for result in p.imap_unordered(more_params):       # as they finish
            p.update_workers(result)                       # handle_update() on every worker, now and later

Each map is a durable sweep: if this script dies, Pool.attach(sweep_id).results() gets every result, once.
It drives the `sweep` CLI with --json rather than a Temporal client library, so it needs only the standard library
and talks to whatever server the CLI is configured for (TEMPORAL_ADDRESS, TLS, API keys).
"""
import hashlib
import inspect
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

__all__ = ["Pool", "PoolJobError", "SweepCliError"]

_SWEEP_JS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bin", "sweep.js")


class SweepCliError(RuntimeError):
    """The sweep CLI refused (bad input, no server): its message says why."""


class PoolJobError(RuntimeError):
    """A job whose run() raised, or that was cancelled; `trial` is its row as `sweep results --format json` has it."""

    def __init__(self, trial):
        self.trial = trial
        cause = trial.get("cause") or trial.get("error") or ""
        super().__init__(f"job {trial['index']} ({trial['name']}) {trial['state']}: {cause}")


def _cli():
    given = os.environ.get("SWEEP_CLI")
    return shlex.split(given) if given else [os.environ.get("SWEEP_NODE", "node"), _SWEEP_JS]


def _run(args, cwd=None):
    done = subprocess.run(_cli() + args, cwd=cwd, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SweepCliError(f"sweep {' '.join(args[:1])}: {done.stderr.strip() or done.stdout.strip()}")
    return done


def _params(item):
    """A dict is run(**item) ({'args': [...], 'kwargs': {...}} spreads); anything else is run(item)."""
    return item if isinstance(item, dict) else {"args": [item]}


def _class_ref(worker_class):
    """`trainer:Trainer`, and the directory the module resolves from (where the workers' project copy starts)."""
    if isinstance(worker_class, str):
        return worker_class, os.getcwd()
    file = os.path.abspath(inspect.getsourcefile(worker_class))
    module = worker_class.__module__
    if module == "__main__":
        # A class defined in the driving script: the workers import that script as a module.
        module = os.path.splitext(os.path.relpath(file, os.getcwd()))[0].replace(os.sep, ".")
    depth = module.count(".") + (1 if os.path.basename(file) == "__init__.py" else 0)
    root = os.path.dirname(file)
    for _ in range(depth):
        root = os.path.dirname(root)
    return f"{module}:{worker_class.__qualname__}", root


def _module_file(ref, root):
    parts = ref.split(":")[0].split(".")
    for candidate in (os.path.join(root, *parts) + ".py", os.path.join(root, *parts, "__init__.py")):
        if os.path.exists(candidate):
            return candidate
    raise SweepCliError(f"{ref}: no module file under {root}")


class _Run:
    """One sweep of the pool: its results as they finish or in input order, each job's once."""

    def __init__(self, sweep_id):
        self.sweep_id = sweep_id

    def _finished(self):
        process = subprocess.Popen(
            _cli() + ["wait", self.sweep_id, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        seen = set()
        try:
            for line in process.stdout:
                if not line.strip():
                    continue
                trial = json.loads(line)
                if trial["index"] not in seen:
                    seen.add(trial["index"])
                    yield trial
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
        if process.returncode not in (0, 1, -9):
            raise SweepCliError(f"sweep wait {self.sweep_id}: {process.stderr.read().strip()}")

    def imap_unordered(self):
        for trial in self._finished():
            yield _value(trial)

    def imap(self):
        done, next_index = {}, 0
        for trial in self._finished():
            done[trial["index"]] = trial
            while next_index in done:
                yield _value(done.pop(next_index))
                next_index += 1

    def results(self):
        return list(self.imap())


def _value(trial):
    if trial["state"] != "succeeded":
        raise PoolJobError(trial)
    return trial.get("value")


class Pool:
    """Worker pool interface, like multiprocessing.Pool; each map call is one durable sweep."""

    def __init__(self, worker_class, init_data=None, pool="default", timeout=None, retries=0, control_queue=None):
        self.ref, self.project_dir = _class_ref(worker_class)
        with open(_module_file(self.ref, self.project_dir), "rb") as f:
            self.version = hashlib.sha256(f.read()).hexdigest()[:12]
        self.init_data = init_data
        self.pool = pool
        self.timeout = timeout
        self.retries = retries
        # Only for a cluster isolated on its own workflow queue (sweep worker --control-queue).
        self.control_queue = control_queue
        self.sweep_ids = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        # The sweeps are durable: they go on if this script stops, and Pool.attach finds them.
        return False

    def close(self):
        pass

    @property
    def sweep_id(self):
        """The last sweep this pool started: what Pool.attach takes after a crash."""
        return self.sweep_ids[-1] if self.sweep_ids else None

    @staticmethod
    def attach(sweep_id):
        """The results of a sweep that a Pool started, even from a script that has died since."""
        return _Run(sweep_id)

    def submit(self, items):
        """Starts the sweep of a map; returns it without waiting."""
        document = {
            "name": ("pool-" + self.ref.split(":")[1].lower())[:63],
            "worker_class": self.ref,
            "pool": self.pool,
            "retries": self.retries,
            "trials": [_params(item) for item in items],
        }
        if self.init_data is not None:
            document["init"] = self.init_data
        if self.timeout is not None:
            document["timeout"] = self.timeout
        with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="sweep-pool-", delete=False) as f:
            json.dump(document, f)
        try:
            queue = ["--control-queue", self.control_queue] if self.control_queue else []
            done = _run(["start", f.name, "--json", "--wait-for-capacity", *queue], cwd=self.project_dir)
        finally:
            os.unlink(f.name)
        if done.returncode != 0:
            raise SweepCliError(done.stderr.strip())
        sweep_id = json.loads(done.stdout)["sweepId"]
        self.sweep_ids.append(sweep_id)
        return _Run(sweep_id)

    def map(self, items):
        """Every result, in input order; raises PoolJobError for the first job (in order) that failed."""
        return self.submit(items).results()

    def imap(self, items):
        return self.submit(items).imap()

    def imap_unordered(self, items):
        """Results as jobs finish."""
        return self.submit(items).imap_unordered()

    def update_workers(self, data):
        """handle_update(data) on every worker running this pool's jobs, at once, and before each later job."""
        payload = _params(data)
        with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="sweep-update-", delete=False) as f:
            json.dump(payload, f)
        try:
            for sweep_id in self.sweep_ids:
                done = _run(["signal", "update", sweep_id, "--file", f.name])
                # A sweep that has ended takes no more updates, and needs none.
                if done.returncode != 0 and "has ended" not in done.stderr:
                    raise SweepCliError(done.stderr.strip())
        finally:
            os.unlink(f.name)

    def _workers(self):
        done = _run(["workers", "--pool", self.pool, "--json"])
        label = f"{self.ref}@{self.version}"
        return [w for w in json.loads(done.stdout or "[]") if w["capacity"]["labels"].get("worker_class") == label]

    def get_workers_count(self):
        """Live worker processes (one per GPU) that run this class at this version."""
        return len(self._workers())

    def get_nodes_count(self):
        """Machines among them."""
        return len({w["hostName"] for w in self._workers()})

    def wait_for_workers(self, count, timeout=None):
        """Returns once `count` workers of this class are live; TimeoutError after `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            live = self.get_workers_count()
            if live >= count:
                return live
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"only {live} of {count} {self.ref} worker(s) live after {timeout}s")
            time.sleep(1)


if __name__ == "__main__":
    sys.exit("sweep_pool is a library: from sweep_pool import Pool")
