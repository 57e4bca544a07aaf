"""Ray Tune with a trivial function trainable that runs bench/trial.sh, S trials at once, actors reused, as its
docs recommend for many short trials. Prints the wall time of Tuner.fit() (Ray already started) as JSON.

usage: ray_peer.py <trials> <seconds> <slots> <records> <storage-dir>
"""
import json
import os
import subprocess
import sys
import time

import ray
from ray import train, tune

TRIAL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "trial.sh")


def main():
    trials, seconds, slots, records, storage = sys.argv[1:6]
    ray.init(num_cpus=int(slots), include_dashboard=False, log_to_driver=False, logging_level="ERROR")

    def trainable(config):
        subprocess.run(["bash", TRIAL, str(config["i"]), seconds, records], check=True)
        return {"done_index": config["i"]}

    tuner = tune.Tuner(
        trainable,
        param_space={"i": tune.grid_search(list(range(int(trials))))},
        tune_config=tune.TuneConfig(max_concurrent_trials=int(slots), reuse_actors=True),
        run_config=train.RunConfig(storage_path=storage, verbose=0, log_to_file=False),
    )
    started = time.perf_counter()
    results = tuner.fit()
    wall = time.perf_counter() - started
    print(json.dumps({"wallSeconds": wall, "failed": sum(1 for r in results if r.error)}))
    ray.shutdown()


if __name__ == "__main__":
    main()
