"""The broadcast workload's trial: records when each cache update reaches it through the Python helper, then
waits to be cancelled. usage: update_trial.py <records-file>"""
import os
import sys
import time

import sweep_helper

records = sys.argv[1]
index = os.environ["SWEEP_TRIAL_INDEX"]


def received(update):
    with open(records, "a") as out:
        out.write(f"{index} {update['version']} {time.time()}\n")


sweep_helper.on_update(received, poll_seconds=0.01)
with open(records, "a") as out:
    out.write(f"{index} 0 {time.time()}\n")
while True:
    time.sleep(60)
