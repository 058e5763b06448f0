package dev.sheaf.allocator.rcufree;

import org.agrona.concurrent.IdleStrategy;

/**
 * Tunables; {@link #DEFAULT} fits most users.
 *
 * @param drainDelayNanos   an open batch older than this is sealed by the drainer
 * @param pendingLimitBytes callers that seal past this many pending bytes help drain and wait;
 *                          callers that may not wait are refused past twice this (the hard cap)
 * @param bulkArrayLength   addresses per headless bulk array (the kernel's bnode)
 * @param bulkArrayCache    most bulk arrays in existence at once; 0 forces the inline fallback
 * @param batchObjects      objects after which an open batch is sealed by its owner
 * @param ownWorker         run the drainer on a daemon thread of the engine; false: the user
 *                          runs {@link RcuFreeEngine#agent()} (e.g. in an Agrona AgentRunner)
 * @param idleStrategy      idle strategy of the own worker; null picks a backoff up to drainDelay/4
 * @param dormantParkNanos  longest park of the own worker once dormant (idle for ~10 ms); it bounds
 *                          how late freeRcuNoLock's objects on an idle engine are seen
 */
public record RcuFreeSettings(long drainDelayNanos, long pendingLimitBytes, int bulkArrayLength, int bulkArrayCache,
                int batchObjects, boolean ownWorker, IdleStrategy idleStrategy, long dormantParkNanos) {
    /** Default batchObjects. */
    static final int DEFAULT_BATCH_OBJECTS = 4096;
    /** Default dormantParkNanos. */
    static final long DEFAULT_DORMANT_PARK_NANOS = 100_000_000L;

    /** The defaults: 2 ms drain delay, 64 MiB pending limit, 512-address arrays, 256 of them, own worker. */
    public static final RcuFreeSettings DEFAULT = new RcuFreeSettings(2_000_000L, 64L << 20, 512, 256,
            DEFAULT_BATCH_OBJECTS, true, null, DEFAULT_DORMANT_PARK_NANOS);

    /**
     * The pending bound for a target that can hold {@code capacity} bytes: {@link #DEFAULT}'s, but at
     * most an eighth of the capacity. Callers that may not wait are refused only past twice the
     * bound, so a bound near the capacity would let deferred frees alone exhaust the target before
     * anyone waits for a grace period.
     *
     * @param capacity bytes the target can hold
     * @return the bound in bytes, at least 1
     */
    public static long defaultPendingLimit(long capacity) {
        return Math.max(1, Math.min(DEFAULT.pendingLimitBytes(), capacity / 8));
    }

    /**
     * Validates the settings.
     *
     * @throws IllegalArgumentException a negative drain delay, a non-positive pending limit, bulk
     *                                  array length, batchObjects or dormant park, or a negative
     *                                  bulk array cache
     */
    public RcuFreeSettings {
        if (drainDelayNanos < 0) {
            throw new IllegalArgumentException("drainDelayNanos must not be negative: " + drainDelayNanos);
        }
        if (pendingLimitBytes < 1) {
            throw new IllegalArgumentException("pendingLimitBytes must be positive: " + pendingLimitBytes);
        }
        if (bulkArrayLength < 1 || bulkArrayCache < 0) {
            throw new IllegalArgumentException("bulkArrayLength must be positive and bulkArrayCache not negative: "
                    + bulkArrayLength + ", " + bulkArrayCache);
        }
        if (batchObjects < 1) {
            throw new IllegalArgumentException("batchObjects must be positive: " + batchObjects);
        }
        if (dormantParkNanos < 1) {
            throw new IllegalArgumentException("dormantParkNanos must be positive: " + dormantParkNanos);
        }
    }

    /**
     * Settings with the default batchObjects, own worker, idle strategy and dormant park.
     *
     * @param drainDelayNanos   an open batch older than this is sealed by the drainer
     * @param pendingLimitBytes the pending bound (twice it: the hard cap)
     * @param bulkArrayLength   addresses per headless bulk array
     * @param bulkArrayCache    most bulk arrays in existence at once
     */
    public RcuFreeSettings(long drainDelayNanos, long pendingLimitBytes, int bulkArrayLength, int bulkArrayCache) {
        this(drainDelayNanos, pendingLimitBytes, bulkArrayLength, bulkArrayCache,
                DEFAULT_BATCH_OBJECTS, true, null, DEFAULT_DORMANT_PARK_NANOS);
    }

    /**
     * These settings with another drainDelayNanos.
     *
     * @param v the new drainDelayNanos
     * @return a copy with drainDelayNanos = v
     */
    public RcuFreeSettings withDrainDelayNanos(long v) {
        return new RcuFreeSettings(v, pendingLimitBytes, bulkArrayLength, bulkArrayCache, batchObjects,
                ownWorker, idleStrategy, dormantParkNanos);
    }

    /**
     * These settings with another pendingLimitBytes.
     *
     * @param v the new pendingLimitBytes
     * @return a copy with pendingLimitBytes = v
     */
    public RcuFreeSettings withPendingLimitBytes(long v) {
        return new RcuFreeSettings(drainDelayNanos, v, bulkArrayLength, bulkArrayCache, batchObjects, ownWorker,
                idleStrategy, dormantParkNanos);
    }

    /**
     * These settings with another bulkArrayCache.
     *
     * @param v the new bulkArrayCache
     * @return a copy with bulkArrayCache = v
     */
    public RcuFreeSettings withBulkArrayCache(int v) {
        return new RcuFreeSettings(drainDelayNanos, pendingLimitBytes, bulkArrayLength, v, batchObjects,
                ownWorker, idleStrategy, dormantParkNanos);
    }

    /**
     * These settings with another batchObjects.
     *
     * @param v the new batchObjects
     * @return a copy with batchObjects = v
     */
    public RcuFreeSettings withBatchObjects(int v) {
        return new RcuFreeSettings(drainDelayNanos, pendingLimitBytes, bulkArrayLength, bulkArrayCache, v,
                ownWorker, idleStrategy, dormantParkNanos);
    }

    /**
     * These settings with another ownWorker.
     *
     * @param v the new ownWorker
     * @return a copy with ownWorker = v
     */
    public RcuFreeSettings withOwnWorker(boolean v) {
        return new RcuFreeSettings(drainDelayNanos, pendingLimitBytes, bulkArrayLength, bulkArrayCache,
                batchObjects, v, idleStrategy, dormantParkNanos);
    }

    /**
     * These settings with another idleStrategy.
     *
     * @param v the new idleStrategy
     * @return a copy with idleStrategy = v
     */
    public RcuFreeSettings withIdleStrategy(IdleStrategy v) {
        return new RcuFreeSettings(drainDelayNanos, pendingLimitBytes, bulkArrayLength, bulkArrayCache,
                batchObjects, ownWorker, v, dormantParkNanos);
    }

    /**
     * Test hook: a test sets an hour so that only a wake-up can get a dormant engine going.
     *
     * @param v the new dormantParkNanos
     * @return a copy with dormantParkNanos = v
     */
    public RcuFreeSettings withDormantParkNanos(long v) {
        return new RcuFreeSettings(drainDelayNanos, pendingLimitBytes, bulkArrayLength, bulkArrayCache,
                batchObjects, ownWorker, idleStrategy, v);
    }
}
