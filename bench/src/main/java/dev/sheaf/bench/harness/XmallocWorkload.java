package dev.sheaf.bench.harness;

import dev.sheaf.bench.peer.AllocatorPeer;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * xmalloc-test's shape: producer threads allocate objects of random small sizes and pass them
 * through SPSC rings to consumer threads that free them, so every free is remote. With
 * {@code threads} workers there are {@code max(1, threads / 2)} producer/consumer pairs.
 * One operation = one object allocated, handed over and freed.
 */
public final class XmallocWorkload implements Workload {
    private static final int RING = 4096;

    @Override
    public String name() {
        return "xmalloc";
    }

    @Override
    public String description() {
        return "producer/consumer: producers allocate, consumers on other threads free";
    }

    @Override
    public long maxObjectSize(WorkloadConfig config) {
        return maxSize(config);
    }

    @Override
    public String unsupportedReason(AllocatorPeer peer, WorkloadConfig config) {
        if (!peer.crossThreadFree()) {
            return "every object is freed by another thread";
        }
        return peer.maxSize() < maxSize(config) ? "serves at most " + peer.maxSize() + " bytes" : null;
    }

    private static int maxSize(WorkloadConfig c) {
        return Math.min(c.maxSize(), 256);
    }

    @Override
    public WorkloadResult run(AllocatorPeer peer, WorkloadConfig c) throws InterruptedException {
        int pairs = Math.max(1, c.threads() / 2);
        LongSpscRing[] rings = new LongSpscRing[pairs];
        for (int i = 0; i < pairs; i++) {
            rings[i] = new LongSpscRing(RING);
        }
        AtomicBoolean[] finished = new AtomicBoolean[pairs];
        for (int i = 0; i < pairs; i++) {
            finished[i] = new AtomicBoolean();
        }
        int maxSize = maxSize(c);
        long start = System.nanoTime();
        long deadline = start + c.nanos();
        long[] counts = Workers.run("xmalloc", pairs * 2, index -> {
            LongSpscRing ring = rings[index / 2];
            if (index % 2 == 0) { // producer
                FastRandom rnd = new FastRandom(c.seed() + index);
                long produced = 0;
                do { // at least one batch, however late the thread started
                    for (int k = 0; k < 64; k++) {
                        long size = rnd.between(c.minSize(), maxSize);
                        long h = peer.allocate(size);
                        Stamp.write(peer, h, size, index);
                        while (!ring.offer(h)) {
                            Thread.onSpinWait();
                        }
                        produced++;
                    }
                } while (System.nanoTime() - deadline < 0);
                finished[index / 2].set(true); // after the last offer: the consumer's final poll sees it
                return -produced;
            }
            long consumed = 0;
            while (true) { // consumer: runs until its producer is done and the ring is empty
                long h = ring.poll();
                if (h == 0) {
                    if (finished[index / 2].get()) {
                        h = ring.poll();
                        if (h == 0) {
                            break;
                        }
                    } else {
                        Thread.onSpinWait();
                        continue;
                    }
                }
                peer.free(h, Stamp.size(peer, h, index - 1));
                consumed++;
            }
            return consumed;
        });
        long elapsed = System.nanoTime() - start;
        long produced = 0;
        long consumed = 0;
        for (long v : counts) {
            if (v < 0) {
                produced -= v;
            } else {
                consumed += v;
            }
        }
        if (produced != consumed) {
            throw new IllegalStateException("xmalloc lost objects: produced " + produced + ", freed " + consumed);
        }
        return new WorkloadResult(name(), peer.name(), consumed, elapsed)
                .note(pairs + " producer/consumer pair(s), sizes " + c.minSize() + "-" + maxSize + " B");
    }
}
