"""distributed_computing's Pool, on Sweep: each map is one durable sweep of Trainer.run().

    cd examples/worker_class
    sweep worker --gpu 0 --python trainer:Trainer &   # one per GPU; --cpu-slots 1 on a machine without one
    PYTHONPATH=$(sweep python-path) python3 driver.py

If this script dies, its sweeps go on: Pool.attach(<the printed sweep ID>).results() gets the results later.
"""
from sweep_pool import Pool

from trainer import Trainer

grid = [{"lr": lr, "batch_size": bs} for lr in (0.001, 0.01, 0.1) for bs in (32, 64)]

with Pool(Trainer, {"dataset": "toy", "scale": 1.0}) as p:
    p.wait_for_workers(1, timeout=120)
    print(f"{p.get_workers_count()} worker(s) on {p.get_nodes_count()} node(s)")

    # Every result, in input order.
    for params, result in zip(grid, p.map(grid)):
        print("map", params, "->", result)
    print("sweep", p.sweep_id)

    # Results as they finish, each shared with every worker (its handle_update), as a cache of what was tried.
    for result in p.imap_unordered([{"lr": 0.02, "batch_size": 32}, {"lr": 0.003, "batch_size": 32}]):
        print("imap_unordered ->", result)
        p.update_workers(result)
