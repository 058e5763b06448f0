/**
 * The off-heap cache experiment: a byte cache whose entries are freed after a grace period
 * ({@link dev.sheaf.bench.cache.RcuOffHeapCache}) against a reference-counted off-heap map and an
 * on-heap map, all behind {@link dev.sheaf.bench.cache.ByteCache}.
 */
package dev.sheaf.bench.cache;
