package dev.sheaf.bench.harness;

import dev.sheaf.bench.cache.ByteCache;
import dev.sheaf.bench.cache.HeapByteCache;
import dev.sheaf.bench.cache.OffHeapChainedMap;
import dev.sheaf.bench.cache.RcuOffHeapCache;
import dev.sheaf.bench.cache.RefCountedOffHeapCache;
import java.io.PrintStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BiFunction;
import org.HdrHistogram.Histogram;

/**
 * The off-heap cache under a read-mostly, skewed mix, as caches see: {@code entries} keys with
 * 64-byte values, then {@code threads} reader threads doing gets while one writer thread puts
 * new values at 50 000 per second (replacing entries, inserting and evicting); 90% of requests go
 * to a hot 1% of the keys, the rest are uniform over a key space a quarter larger than the populated
 * range (so some gets miss and some puts insert and evict). Readers and writer are separate threads
 * so gets per second measure the read side alone, with updates and reclamation running beside it. A
 * warm-up (a fifth of the run, at least 200 ms: JIT, caches, reclamation in steady state) is not
 * counted; readers get through per-thread handles ({@link ByteCache#reader()}). Every value carries its key, and
 * every get checks it: a reader that saw a freed or reused entry fails the run. Reports gets and
 * puts per second, get latency (one get in 16 timed), bytes per entry, and the Java heap and GC
 * cost, for the RCU map, the same map with reference counts, and {@code ConcurrentHashMap<Long, byte[]>}.
 * The three maps run in {@value #ROUNDS} interleaved rounds and each reports its median round (by
 * gets per second), with every round's figure in its note.
 */
public final class OffHeapCacheExperiment implements SheafExperiment {
    private static final int VALUE = 64;
    /** Runs of each map, interleaved; each map reports its median. */
    private static final int ROUNDS = 3;
    /** Update rate of the writer thread. */
    private static final int PUTS_PER_SECOND = 50_000;

    /** Reads the key and version fill() wrote, 8 bytes at a time. */
    private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private final int entries;

    public OffHeapCacheExperiment(int entries) {
        this.entries = entries;
    }

    @Override
    public String name() {
        return "offheap-cache";
    }

    @Override
    public List<WorkloadResult> run(WorkloadConfig c, PrintStream out) throws InterruptedException {
        out.println("== offheap-cache: " + entries + " entries of " + VALUE + " B values, " + c.threads()
                + " reader threads, 1 writer thread");
        List<BiFunction<Integer, Integer, ByteCache>> variants = List.of(RcuOffHeapCache::new,
                RefCountedOffHeapCache::new, HeapByteCache::new);
        // Rounds interleave the maps, so a slow phase of this shared machine falls on all of them
        // rather than on whichever ran then; each map reports its median round (Rounds).
        List<List<WorkloadResult>> rounds = Rounds.interleave(variants.size(), ROUNDS,
                (i, round) -> run(variants.get(i), c));
        List<WorkloadResult> results = new ArrayList<>();
        for (List<WorkloadResult> all : rounds) {
            Rounds.Summary<WorkloadResult> s = Rounds.summarize(all, r -> r.figures().get("getsPerSecond"));
            WorkloadResult median = s.median();
            median.figure("min getsPerSecond", s.min()).figure("max getsPerSecond", s.max())
                    .figure(WorkloadResult.ROUNDS, s.rounds());
            median.note(median.note() + String.format(Locale.ROOT,
                    "; median of %d rounds interleaved with the other maps (M gets/s: %s)", s.rounds(),
                    Rounds.describe(s.values(), 1e6)));
            out.println("   " + Harness.describe(median));
            results.add(median);
        }
        return results;
    }

    WorkloadResult run(BiFunction<Integer, Integer, ByteCache> make, WorkloadConfig c) throws InterruptedException {
        long heapBefore = usedHeapAfterGc();
        try (ByteCache cache = make.apply(entries, VALUE)) {
            byte[] value = new byte[VALUE];
            for (int k = 0; k < entries; k++) {
                fill(value, k, 0);
                cache.put(k, value, VALUE);
            }
            double bytesPerEntry = cache.offHeapBytes() >= 0 ? (double) cache.offHeapBytes() / cache.size()
                    : (double) (usedHeapAfterGc() - heapBefore) / cache.size();
            double reservedPerEntry = cache instanceof OffHeapChainedMap m ? m.reservedBytesPerEntry() : bytesPerEntry;
            long[][] gc0 = {gc()};
            Histogram getLatency = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
            Histogram[] perThread = new Histogram[c.threads()];
            long[] gets = new long[c.threads()];
            long[] puts = new long[1];
            long[] heapBytes = new long[c.threads() + 1];
            var threadBean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            int keySpace = entries + entries / 4;
            int hotKeys = Math.max(1, entries / 100);
            // Warm-up first (JIT, caches, the reclamation machinery's steady state); each thread starts
            // counting when it first sees the clock past measureStart, and every figure covers
            // measureStart..deadline only.
            long measureStart = System.nanoTime() + Math.max(200_000_000L, c.nanos() / 5);
            long deadline = measureStart + c.nanos();
            int readers = c.threads();
            Workers.run("cache", readers + 1, index -> {
                FastRandom rnd = new FastRandom(c.seed() * 31 + index);
                long allocated0 = threadBean.getCurrentThreadAllocatedBytes();
                if (index == readers) { // the writer: PUTS_PER_SECOND updates, paced in 1 ms slices
                    byte[] src = new byte[VALUE];
                    long p = 0;
                    long version = 0;
                    long p0 = -1;
                    long slice = System.nanoTime();
                    do {
                        if (p0 < 0 && System.nanoTime() - measureStart >= 0) {
                            p0 = p;
                            gc0[0] = gc();
                            allocated0 = threadBean.getCurrentThreadAllocatedBytes();
                        }
                        for (int i = 0; i < PUTS_PER_SECOND / 1000; i++) {
                            int key = rnd.nextInt(10) != 0 ? rnd.nextInt(hotKeys) : rnd.nextInt(keySpace);
                            fill(src, key, ++version);
                            cache.put(key, src, VALUE);
                            p++;
                        }
                        slice += 1_000_000;
                        long wait = slice - System.nanoTime();
                        if (wait > 0) {
                            LockSupport.parkNanos(wait);
                        }
                    } while (System.nanoTime() - deadline < 0);
                    puts[0] = p - Math.max(0, p0);
                    heapBytes[index] = threadBean.getCurrentThreadAllocatedBytes() - allocated0;
                    return puts[0];
                }
                Histogram h = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
                byte[] dst = new byte[VALUE];
                long g = 0;
                long g0 = -1;
                ByteCache.Reader reader = cache.reader(); // per-thread state bound once, not looked up per get
                try (reader) {
                    do {
                        if (g0 < 0 && System.nanoTime() - measureStart >= 0) { // warm-up over
                            g0 = g;
                            h.reset();
                            allocated0 = threadBean.getCurrentThreadAllocatedBytes();
                        }
                        for (int i = 0; i < 256; i++) {
                            int key = rnd.nextInt(10) != 0 ? rnd.nextInt(hotKeys) : rnd.nextInt(keySpace);
                            int n;
                            if ((i & 15) == 0) {
                                long t0 = System.nanoTime();
                                n = reader.get(key, dst);
                                h.recordValue(Math.min(System.nanoTime() - t0, TimeUnit.SECONDS.toNanos(10)));
                            } else {
                                n = reader.get(key, dst);
                            }
                            if (n >= 0) {
                                check(dst, n, key, cache);
                            }
                            g++;
                        }
                    } while (System.nanoTime() - deadline < 0);
                }
                heapBytes[index] = threadBean.getCurrentThreadAllocatedBytes() - allocated0;
                gets[index] = g - Math.max(0, g0);
                perThread[index] = h;
                return gets[index];
            });
            long elapsed = System.nanoTime() - measureStart;
            long[] gc1 = gc();
            for (Histogram h : perThread) {
                getLatency.add(h);
            }
            long totalGets = Workers.sum(gets);
            long totalPuts = Workers.sum(puts);
            return new WorkloadResult(name(), cache.name(), totalGets + totalPuts, elapsed)
                    .histogram("get", getLatency)
                    .figure("getsPerSecond", totalGets * 1e9 / elapsed)
                    .figure("putsPerSecond", totalPuts * 1e9 / elapsed)
                    .figure("bytesPerEntry", bytesPerEntry)
                    .figure("reservedBytesPerEntry", reservedPerEntry)
                    .figure("heapBytesPerGet", (double) (Workers.sum(heapBytes) - heapBytes[c.threads()]) / Math.max(1, totalGets))
                    .figure("heapBytesPerPut", (double) heapBytes[c.threads()] / Math.max(1, totalPuts))
                    .figure("gcCount", gc1[0] - gc0[0][0])
                    .figure("gcMillis", gc1[1] - gc0[0][1])
                    .note(String.format(Locale.ROOT, "%d entries, %d B values, %d reader threads + 1 writer at %d puts/s, 90%% of requests on 1%% hot keys", entries, VALUE,
                            c.threads(), PUTS_PER_SECOND));
        }
    }

    private static void fill(byte[] v, long key, long version) {
        for (int i = 0; i < 8; i++) {
            v[i] = (byte) (key >>> (8 * i));
            v[8 + i] = (byte) (version >>> (8 * i));
        }
        byte b = (byte) (key ^ version);
        for (int i = 16; i < v.length; i++) {
            v[i] = b;
        }
    }

    /** The value must belong to the key and be internally consistent (no torn or reused entry). */
    private static void check(byte[] v, int n, long key, ByteCache cache) {
        long k = (long) LONG_LE.get(v, 0); // the bytes fill() wrote, little-endian: one load each
        long version = (long) LONG_LE.get(v, 8);
        byte b = (byte) (key ^ version);
        if (n != VALUE || k != key || v[16] != b || v[n - 1] != b) {
            throw new IllegalStateException(cache.name() + ": get(" + key + ") returned a value of key " + k
                    + " (length " + n + "): a reader saw a freed or reused entry");
        }
    }

    private static long[] gc() {
        long count = 0;
        long millis = 0;
        for (GarbageCollectorMXBean b : ManagementFactory.getGarbageCollectorMXBeans()) {
            count += Math.max(0, b.getCollectionCount());
            millis += Math.max(0, b.getCollectionTime());
        }
        return new long[] {count, millis};
    }

    private static long usedHeapAfterGc() {
        Runtime rt = Runtime.getRuntime();
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return rt.totalMemory() - rt.freeMemory();
    }
}
