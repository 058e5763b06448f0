/**
 * JMH benchmarks of Sheaf against the allocators a JVM service would otherwise use, and the
 * command-line comparison ({@link dev.sheaf.bench.Compare}) that runs them with the harness and
 * writes {@code jmh-results/}.
 *
 * <p>Start with {@link dev.sheaf.bench.AllocatorBenchmark} (pair and burst per peer), then
 * {@link dev.sheaf.bench.FreeRcuBenchmark} (deferred free against {@code rcu.call}) and
 * {@link dev.sheaf.bench.RcuReadBenchmark} (read sections against {@code StampedLock}). Peers live
 * in {@link dev.sheaf.bench.peer}, multi-threaded workloads in {@link dev.sheaf.bench.harness}.
 */
package dev.sheaf.bench;
