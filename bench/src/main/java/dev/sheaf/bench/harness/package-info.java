/**
 * Multi-threaded workloads outside JMH (Larson, xmalloc, false sharing, thread churn, latency
 * under a freeRcu flood, rcuscale, the off-heap cache), run by {@link dev.sheaf.bench.harness.Harness}.
 * Every workload stamps its objects, checks them on free and checks that every object was freed.
 */
package dev.sheaf.bench.harness;
