"""Run trials on a 3-node ``ray.cluster_utils.Cluster``, remove a worker node mid-run.

usage: node_removal.py LOCAL_DIR [class|function]
(the trainable: a checkpointing class, or a function that reports its checkpoints)
Prints one JSON line: per trial its status, failures, iterations logged and the nodes
it ran on, plus the removed node's id.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fault_trainables import Steps, steps_function  # noqa: E402

import tunecore as tune  # noqa: E402


def main() -> None:
    from ray.cluster_utils import Cluster

    local_dir = sys.argv[1]
    kind = sys.argv[2] if len(sys.argv) > 2 else "class"
    markers = os.path.join(local_dir, "markers")
    os.makedirs(markers)
    t0 = time.time()
    # the driver's node (where the trial folders are) runs no trial: every checkpoint is taken
    # on another node, shipped to it, and fetched back from it by the node a trial moves to
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    worker = cluster.add_node(num_cpus=2)
    cluster.add_node(num_cpus=2)
    cluster.wait_for_nodes()
    print(f"cluster up in {time.time() - t0:.1f}s", file=sys.stderr, flush=True)
    removed = {}

    def remove_when_busy() -> None:
        # once a trial on the worker node has a checkpoint (iteration >= 2), remove the node
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            on_worker = [n.split(".")[0] for n in os.listdir(markers) if n.endswith(worker.node_id)]
            state_path = os.path.join(local_dir, "nodes", "experiment_state.json")
            try:
                with open(state_path) as f:
                    state = json.load(f)
            except (OSError, ValueError):
                state = None
            if state and on_worker:
                busy = [t for t in state["trials"] if t["trial_id"] in on_worker and t["status"] == "RUNNING"
                        and t["checkpoint"] and (t["last_result"] or {}).get("training_iteration", 0) >= 2]
                if busy:
                    removed["trials"] = [t["trial_id"] for t in busy]
                    cluster.remove_node(worker)
                    removed["at"] = time.time() - t0
                    return
            time.sleep(0.05)

    import ray

    ray.init(address=cluster.address, include_dashboard=False)
    thread = threading.Thread(target=remove_when_busy, daemon=True)
    thread.start()
    tune.register_trainable("Steps", Steps if kind == "class" else steps_function)
    checkpointing = {"checkpoint_freq": 1} if kind == "class" else {}
    try:
        trials = tune.run_experiments(
            {"nodes": {"run": "Steps", "local_dir": local_dir, **checkpointing, "max_failures": 3,
                       "config": {"iters": 20, "sleep": 0.1, "marker_dir": markers,
                                  "i": tune.grid_search(list(range(4)))}}},
            verbose=0, raise_on_failed_trial=False)
        out = {"removed_node": worker.node_id, "removed": removed, "trials": {}}
        for t in trials:
            with open(os.path.join(t.logdir, "result.json")) as f:
                rows = [json.loads(line) for line in f]
            out["trials"][t.trial_id] = {
                "status": t.status.value, "num_failures": t.num_failures,
                "iterations": [r["training_iteration"] for r in rows], "values": [r["value"] for r in rows],
                "since_restore": [r["iterations_since_restore"] for r in rows],
                "nodes": sorted(n.split(".", 1)[1] for n in os.listdir(markers) if n.startswith(t.trial_id)),
            }
        print(json.dumps(out), flush=True)
    finally:
        ray.shutdown()
        cluster.shutdown()


if __name__ == "__main__":
    main()
