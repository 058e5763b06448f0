package dev.sheaf.bench.harness;

import dev.sheaf.bench.peer.AllocatorPeer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.HdrHistogram.Histogram;

/**
 * Allocation and free latency on a latency-critical thread while the other threads flood the
 * allocator with deferred frees ({@code freeRcu} on Sheaf; plain {@code free} on peers that have
 * no such thing, named in the result).
 *
 * <p>The latency thread works to a fixed schedule ({@code opsPerSecond}): request {@code i} is
 * due at {@code start + i * interval}. Allocation latency is measured from the <em>due</em> time,
 * not from when the thread got round to it, so a stall is charged to every request it delays
 * (coordinated omission avoided, as in wrk2 and HdrHistogram's own guidance). The free right after
 * it is measured from its own start (its due time is the allocation's end). Each request allocates
 * 64 bytes, writes them, and frees them. The first tenth of the run (at least 200 ms) is JIT
 * warm-up and is not recorded.
 */
public final class LatencyUnderFloodWorkload implements Workload {
    private static final long SIZE = 64;
    private static final long HIGHEST = TimeUnit.SECONDS.toNanos(10);

    @Override
    public String name() {
        return "latency";
    }

    @Override
    public String description() {
        return "alloc/free latency (HdrHistogram, fixed rate, coordinated-omission-aware) while other threads flood deferred frees";
    }

    @Override
    public long maxObjectSize(WorkloadConfig config) {
        return SIZE;
    }

    @Override
    public WorkloadResult run(AllocatorPeer peer, WorkloadConfig c) throws InterruptedException {
        int flooders = Math.max(1, c.threads() - 1);
        long interval = 1_000_000_000L / c.opsPerSecond();
        Histogram alloc = new Histogram(HIGHEST, 3);
        Histogram free = new Histogram(HIGHEST, 3);
        AtomicBoolean stop = new AtomicBoolean();
        long[] flooded = new long[1];
        Thread[] floodThreads = new Thread[flooders];
        long[] floodCounts = new long[flooders];
        Throwable[] floodFailure = new Throwable[1];
        for (int i = 0; i < flooders; i++) {
            int index = i;
            floodThreads[i] = Thread.ofPlatform().name("flood-" + i).start(() -> {
                try {
                    long n = 0;
                    while (!stop.get()) {
                        for (int k = 0; k < 64; k++) {
                            long h = peer.allocate(SIZE);
                            peer.freeDeferred(h, SIZE);
                        }
                        n += 64;
                    }
                    floodCounts[index] = n;
                } catch (Throwable t) {
                    floodFailure[0] = t;
                }
            });
        }
        long warmupEnd = System.nanoTime() + Math.max(200_000_000L, c.nanos() / 10);
        long start = System.nanoTime();
        long end = warmupEnd + c.nanos();
        long requests = 0;
        boolean warm = false;
        try {
            for (long due = start; due - end < 0; due += interval) {
                if (!warm && due - warmupEnd >= 0) { // JIT warm-up is not what this measures
                    alloc.reset();
                    free.reset();
                    requests = 0;
                    start = due;
                    warm = true;
                }
                while (System.nanoTime() - due < 0) {
                    Thread.onSpinWait();
                }
                long h = peer.allocate(SIZE);
                long allocated = System.nanoTime();
                Stamp.write(peer, h, SIZE, 0);
                long freeStart = System.nanoTime();
                peer.free(h, Stamp.size(peer, h, 0));
                long freed = System.nanoTime();
                alloc.recordValue(Math.min(allocated - due, HIGHEST));
                free.recordValue(Math.min(freed - freeStart, HIGHEST));
                requests++;
            }
        } finally {
            stop.set(true);
            for (Thread t : floodThreads) {
                t.join();
            }
        }
        long elapsed = System.nanoTime() - start;
        if (floodFailure[0] != null) {
            throw new IllegalStateException("flood thread failed", floodFailure[0]);
        }
        for (long n : floodCounts) {
            flooded[0] += n;
        }
        return new WorkloadResult(name(), peer.name(), requests, elapsed)
                .histogram("alloc", alloc)
                .histogram("free", free)
                .figure("floodOpsPerSecond", flooded[0] * 1e9 / elapsed)
                .note(c.opsPerSecond() + " requests/s on the latency thread, " + flooders + " flood thread(s) doing "
                        + peer.deferredFreeKind());
    }
}
