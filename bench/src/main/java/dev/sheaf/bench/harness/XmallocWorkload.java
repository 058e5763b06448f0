package dev.sheaf.bench.harness;

import dev.sheaf.bench.peer.AllocatorPeer;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * xmalloc-test's shape: producer threads allocate objects of random small sizes and pass them
 * through SPSC rings to consumer threads that free them, so every free is remote. With
 * {@code threads} workers there are {@code max(1, threads / 2)} producer/consumer pairs.
 * One operation = one object allocated, handed over and freed.
 *
 * <p>{@link #producerConsumer()} is the same loop as JMH's {@code ProducerConsumerBenchmark}
 * (issue 3's producer/consumer row) in the harness: one pair, 64-byte objects, so it gets
 * interleaved rounds and a median like the other workloads.
 */
public final class XmallocWorkload implements Workload {
    private static final int RING = 4096;
    /** The producer/consumer row's object size, as in the JMH benchmark. */
    private static final int PC_SIZE = 64;

    private final String name;
    /** Every object's size, or 0 for random sizes up to {@code min(maxSize, 256)}. */
    private final int fixedSize;

    /** xmalloc: {@code threads / 2} pairs, random sizes of {@code minSize} to {@code min(maxSize, 256)} bytes. */
    public XmallocWorkload() {
        this("xmalloc", 0);
    }

    private XmallocWorkload(String name, int fixedSize) {
        this.name = name;
        this.fixedSize = fixedSize;
    }

    /**
     * One thread allocates 64-byte objects, another frees them, through one {@link LongSpscRing}.
     *
     * @return the {@code producer-consumer} workload
     */
    public static XmallocWorkload producerConsumer() {
        return new XmallocWorkload("producer-consumer", PC_SIZE);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String description() {
        return fixedSize == 0 ? "producer/consumer: producers allocate, consumers on other threads free"
                : "one thread allocates " + fixedSize + " B objects, another frees them (JMH's producer/consumer row)";
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

    private int maxSize(WorkloadConfig c) {
        return fixedSize != 0 ? fixedSize : Math.min(c.maxSize(), 256);
    }

    @Override
    public WorkloadResult run(AllocatorPeer peer, WorkloadConfig c) throws InterruptedException {
        int pairs = fixedSize != 0 ? 1 : Math.max(1, c.threads() / 2);
        LongSpscRing[] rings = new LongSpscRing[pairs];
        for (int i = 0; i < pairs; i++) {
            rings[i] = new LongSpscRing(RING);
        }
        AtomicBoolean[] finished = new AtomicBoolean[pairs];
        for (int i = 0; i < pairs; i++) {
            finished[i] = new AtomicBoolean();
        }
        int maxSize = maxSize(c);
        int minSize = fixedSize != 0 ? fixedSize : c.minSize();
        long start = System.nanoTime();
        long deadline = start + c.nanos();
        long[] counts = Workers.run("xmalloc", pairs * 2, index -> {
            LongSpscRing ring = rings[index / 2];
            if (index % 2 == 0) { // producer
                FastRandom rnd = new FastRandom(c.seed() + index);
                long produced = 0;
                do { // at least one batch, however late the thread started
                    for (int k = 0; k < 64; k++) {
                        long size = rnd.between(minSize, maxSize);
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
                .note(pairs + " producer/consumer pair(s), sizes " + minSize + "-" + maxSize + " B");
    }
}
