"""Celery + RabbitMQ as the mlframework stack ran it: acks_late, prefetch 1, one prefork worker with a process per
slot. `worker` runs the worker; `run` submits N trials as one group and prints the wall time as JSON.

usage: BENCH_BROKER=amqp://… celery_peer.py run <trials> <seconds> <records>
       (the worker: celery -A celery_peer worker -c <slots> --prefetch-multiplier 1 -O fair)
"""
import json
import os
import subprocess
import sys
import time

from celery import Celery, group

TRIAL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "trial.sh")

app = Celery("celery_peer", broker=os.environ.get("BENCH_BROKER", "amqp://"), backend="rpc://")
app.conf.update(
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)


@app.task
def run_trial(index, seconds, records):
    subprocess.run(["bash", TRIAL, str(index), str(seconds), records], check=True)
    return index


def main():
    if len(sys.argv) != 5 or sys.argv[1] != "run":
        sys.exit(__doc__)
    trials, seconds, records = sys.argv[2:5]
    started = time.perf_counter()
    result = group(run_trial.s(i, seconds, records) for i in range(int(trials))).apply_async()
    failed = 0
    try:
        result.get(propagate=False, timeout=3600)
    finally:
        failed = sum(1 for r in result.results if r.failed())
    print(json.dumps({"wallSeconds": time.perf_counter() - started, "failed": failed}))


if __name__ == "__main__":
    main()
