package dev.sheaf.bench.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiFunction;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The three caches: functional rules, then readers and writers at once with every value checked. */
class ByteCacheTest {

    static List<String> variants() {
        return List.of("rcu", "rcu-link", "refcount", "heap");
    }

    static ByteCache open(String variant, long maxEntries, int maxValue) {
        BiFunction<Long, Integer, ByteCache> f = switch (variant) {
            case "rcu" -> (n, v) -> new RcuOffHeapCache(n, v);
            case "rcu-link" -> (n, v) -> new RcuOffHeapCache(n, v, true);
            case "refcount" -> RefCountedOffHeapCache::new;
            default -> HeapByteCache::new;
        };
        return f.apply(maxEntries, maxValue);
    }

    @ParameterizedTest
    @MethodSource("variants")
    void putGetReplaceRemove(String variant) {
        try (ByteCache c = open(variant, 1000, 32)) {
            byte[] dst = new byte[32];
            assertEquals(-1, c.get(1, dst));
            c.put(1, new byte[] {1, 2, 3}, 3);
            assertEquals(3, c.get(1, dst));
            assertArrayEquals(new byte[] {1, 2, 3}, Arrays.copyOf(dst, 3));
            c.put(1, new byte[] {9, 8}, 2); // replace
            assertEquals(2, c.get(1, dst));
            assertArrayEquals(new byte[] {9, 8}, Arrays.copyOf(dst, 2));
            assertEquals(1, c.size());
            c.put(-5, new byte[0], 0); // any key, empty values
            assertEquals(0, c.get(-5, dst));
            assertTrue(c.remove(1));
            assertFalse(c.remove(1));
            assertEquals(-1, c.get(1, dst));
            assertEquals(1, c.size());
            assertThrows(IllegalArgumentException.class, () -> c.put(2, new byte[33], 33));
            assertThrows(IllegalArgumentException.class, () -> c.put(2, new byte[4], 5));
        }
    }

    @ParameterizedTest
    @MethodSource("variants")
    void aReaderHandleSeesWhatGetSees(String variant) throws InterruptedException {
        try (ByteCache c = open(variant, 1000, 32)) {
            for (long k = 0; k < 100; k++) {
                c.put(k, new byte[] {(byte) k, (byte) (k >> 8), 7}, 3);
            }
            Runnable check = () -> {
                byte[] a = new byte[32];
                byte[] b = new byte[32];
                ByteCache.Reader r = c.reader();
                for (long k = -5; k < 120; k++) {
                    int n = r.get(k, a);
                    assertEquals(c.get(k, b), n, "key " + k);
                    if (n >= 0) {
                        assertArrayEquals(Arrays.copyOf(b, n), Arrays.copyOf(a, n));
                    }
                }
                r.close();
                r.close(); // idempotent
            };
            check.run();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread v = Thread.ofVirtual().start(() -> { // virtual threads get a handle too
                try {
                    check.run();
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            v.join();
            if (failure.get() != null) {
                throw new AssertionError("on a virtual thread", failure.get());
            }
        }
    }

    @ParameterizedTest
    @MethodSource("variants")
    void manyKeysCollideAndEvictionBoundsTheSize(String variant) {
        try (ByteCache c = open(variant, 500, 16)) {
            byte[] v = new byte[16];
            for (long k = 0; k < 5000; k++) {
                Arrays.fill(v, (byte) k);
                c.put(k, v, 16);
                assertTrue(c.size() <= 500 + 1, "size " + c.size());
            }
            byte[] dst = new byte[16];
            int present = 0;
            for (long k = 0; k < 5000; k++) {
                int n = c.get(k, dst);
                if (n >= 0) {
                    present++;
                    assertEquals(16, n);
                    assertEquals((byte) k, dst[15], "value of key " + k);
                }
            }
            assertEquals(c.size(), present);
        }
    }

    @ParameterizedTest
    @MethodSource("variants")
    void offHeapMapsGiveEveryEntryBack(String variant) {
        ByteCache c = open(variant, 10_000, 64);
        if (!(c instanceof OffHeapChainedMap m)) {
            c.close();
            return;
        }
        long empty = m.offHeapBytes(); // the bucket array
        for (long k = 0; k < 10_000; k++) {
            c.put(k, new byte[64], 64);
        }
        assertTrue(m.offHeapBytes() >= empty + 10_000L * 64, "entries are off-heap");
        for (long k = 0; k < 10_000; k++) {
            assertTrue(c.remove(k));
        }
        if (c instanceof RcuOffHeapCache r) {
            r.rcu().synchronize();
            r.allocator.rcuBarrier();
        }
        assertEquals(empty, m.offHeapBytes(), "entries leaked");
        c.close();
        assertThrows(IllegalStateException.class, () -> c.put(1, new byte[1], 1));
    }

    /**
     * Readers (platform and virtual threads) check every value they get belongs to its key while a
     * writer replaces, inserts, removes and evicts: a reader that saw a freed and reused entry fails.
     */
    @ParameterizedTest
    @MethodSource("variants")
    void concurrentReadersNeverSeeAFreedEntry(String variant) throws InterruptedException {
        int keys = 2000;
        try (ByteCache c = open(variant, keys, 24)) {
            for (long k = 0; k < keys; k++) {
                c.put(k, value(k, 0), 24);
            }
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            // platform and virtual readers, through the generic get and through a per-thread handle
            java.util.function.Function<Boolean, Runnable> readerOf = useHandle -> () -> {
                byte[] dst = new byte[24];
                long i = 0;
                try (ByteCache.Reader r = useHandle ? c.reader() : c::get) {
                    while (!stop.get()) {
                        long k = (i++ * 7919) % (keys + keys / 4);
                        int n = r.get(k, dst);
                        if (n >= 0) {
                            long key = readLong(dst, 0);
                            long version = readLong(dst, 8);
                            if (n != 24 || key != k || readLong(dst, 16) != (k ^ version)) {
                                throw new AssertionError("get(" + k + ") saw key " + key + " length " + n);
                            }
                        }
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            };
            Thread[] readers = {Thread.ofPlatform().start(readerOf.apply(true)),
                    Thread.ofPlatform().start(readerOf.apply(false)), Thread.ofVirtual().start(readerOf.apply(true)),
                    Thread.ofVirtual().start(readerOf.apply(false))};
            long deadline = System.nanoTime() + Long.getLong("sheaf.bench.stressMillis", 1500) * 1_000_000;
            long version = 0;
            while (System.nanoTime() < deadline && failure.get() == null) {
                for (int i = 0; i < 1000; i++) {
                    long k = (version * 31 + i) % (keys + keys / 4);
                    if (i % 10 == 0) {
                        c.remove(k);
                    } else {
                        c.put(k, value(k, ++version), 24);
                    }
                }
            }
            stop.set(true);
            for (Thread t : readers) {
                t.join();
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
        }
    }

    private static byte[] value(long key, long version) {
        byte[] v = new byte[24];
        writeLong(v, 0, key);
        writeLong(v, 8, version);
        writeLong(v, 16, key ^ version);
        return v;
    }

    private static void writeLong(byte[] b, int at, long v) {
        for (int i = 0; i < 8; i++) {
            b[at + i] = (byte) (v >>> (8 * i));
        }
    }

    private static long readLong(byte[] b, int at) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v |= (b[at + i] & 0xFFL) << (8 * i);
        }
        return v;
    }
}
