"""Run an experiment on a 2-node ray.cluster_utils.Cluster; print where each trial ran (JSON)."""

import json
import sys
import time

import ray
from ray.cluster_utils import Cluster

import tunecore as tune


def where(config, reporter):
    import ray

    time.sleep(1.0)
    reporter(node_id=ray.get_runtime_context().get_node_id(), done=True)


def main(local_dir: str) -> None:
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        # user code unchanged: the same experiment, only the address differs
        trials = tune.run_experiments(
            {"two_nodes": {"run": where, "config": {"i": tune.grid_search([0, 1, 2, 3])}, "local_dir": local_dir}},
            address=cluster.address, verbose=False)
        nodes = sorted({n["NodeID"] for n in ray.nodes() if n["Alive"]})
        print(json.dumps({"trial_nodes": [t.last_result["node_id"] for t in trials],
                          "status": [t.status.value for t in trials], "cluster_nodes": nodes}))
    finally:
        ray.shutdown()
        cluster.shutdown()


if __name__ == "__main__":
    main(sys.argv[1])
