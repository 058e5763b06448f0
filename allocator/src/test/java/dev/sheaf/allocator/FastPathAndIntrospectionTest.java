package dev.sheaf.allocator;

import dev.sheaf.allocator.testing.Heaps;
import dev.sheaf.allocator.testing.HeldOnAnotherThread;

import dev.sheaf.rcu.Rcu;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;

import static org.junit.jupiter.api.Assertions.*;

/** Garbage-free fast paths (allocation counting, not timing), slabinfo/stats, TYPESAFE_BY_RCU slab return. */
class FastPathAndIntrospectionTest {

    private static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    @Test
    void fastPathsAllocateNoJavaObjects() {
        try (SlabAllocator a = SlabAllocator.builder().capacity(256L << 20).build()) {
            SlabCache c = a.createCache("gc-free", 64);
            long[] burst = new long[1000];
            for (int warm = 0; warm < 3; warm++) {
                for (int i = 0; i < 200_000; i++) {
                    c.free(c.alloc());
                    a.free(a.malloc(64));
                }
                for (int r = 0; r < 200; r++) {
                    for (int i = 0; i < burst.length; i++) {
                        burst[i] = a.malloc(64);
                    }
                    for (long p : burst) {
                        a.free(p);
                    }
                }
            }
            long before = allocatedBytes();
            for (int i = 0; i < 1_000_000; i++) {
                c.free(c.alloc());
                a.free(a.malloc(64));
            }
            for (int r = 0; r < 1000; r++) {
                for (int i = 0; i < burst.length; i++) {
                    burst[i] = a.malloc(64);
                }
                for (long p : burst) {
                    a.free(p);
                }
            }
            long used = allocatedBytes() - before;
            // 3 million operation pairs: anything per operation would be megabytes.
            assertTrue(used < 64 * 1024, "fast paths allocated " + used + " bytes");
        }
    }

    @Test
    void slabinfoAndStatsDescribeTheCaches() {
        try (SlabAllocator a = Heaps.small().build()) {
            SlabCache c = a.createCache("dentry", 192);
            long[] objs = new long[500];
            c.allocBulk(objs, objs.length);
            long p = a.malloc(100);
            String info = a.slabinfo();
            assertTrue(info.startsWith("slabinfo - version: 2.1"), info);
            assertTrue(info.contains("<active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>"), info);
            assertTrue(info.contains(": sheaves <capacity>"), info);
            String line = info.lines().filter(l -> l.startsWith("dentry ")).findFirst().orElseThrow();
            assertTrue(line.contains(" 500 "), line);
            assertTrue(info.lines().anyMatch(l -> l.startsWith("kmalloc-112 ")), info);
            SlabCache.Stats s = c.stats();
            assertEquals(500, s.activeObjects());
            assertEquals(192, s.slotSize());
            assertEquals(60, s.sheafCapacity());
            SlabAllocator.Stats st = a.stats();
            assertEquals(500 * 192 + 112, st.liveBytes());
            assertTrue(st.reservedBytes() >= s.slabs() * s.slabBytes());
            c.freeBulk(objs, objs.length);
            a.free(p);
            assertEquals(0, a.stats().liveBytes());
            assertTrue(a.stats().cachedObjects() > 0, "freed objects wait in sheaves");
            c.destroy();
        }
    }

    @Test
    void slowPathsEmitJfrEvents() throws Exception {
        java.nio.file.Path file = java.nio.file.Files.createTempFile("sheaf", ".jfr");
        try (jdk.jfr.Recording rec = new jdk.jfr.Recording();
             SlabAllocator a = Heaps.small().retainBytes(0).build()) {
            rec.enable("dev.sheaf.SlabGrow");
            rec.enable("dev.sheaf.PagesReleased");
            rec.start();
            SlabCache c = a.createCache("jfr-objs", 512);
            long[] objs = new long[1000];
            c.allocBulk(objs, objs.length);
            c.freeBulk(objs, objs.length);
            a.shrink();
            rec.stop();
            rec.dump(file);
            var events = jdk.jfr.consumer.RecordingFile.readAllEvents(file);
            assertTrue(events.stream().anyMatch(e -> e.getEventType().getName().equals("dev.sheaf.SlabGrow")
                    && "jfr-objs".equals(e.getString("cache"))), events.toString());
            assertTrue(events.stream().anyMatch(e -> e.getEventType().getName().equals("dev.sheaf.PagesReleased")));
            c.destroy();
        } finally {
            java.nio.file.Files.deleteIfExists(file);
        }
    }

    @Test
    void typesafeByRcuSlabWaitsForReaders() throws Exception {
        Rcu rcu = Rcu.create();
        try (SlabAllocator a = Heaps.small().rcu(rcu).build()) {
            SlabCache c = a.createCache(CacheSpec.of("sighand", 256).withLinkOffset(248)
                    .withSheafCapacity(0).withFlags(SlabFlag.TYPESAFE_BY_RCU));
            long[] objs = new long[c.objectsPerSlab() * 4];
            c.allocBulk(objs, objs.length);
            HeldOnAnotherThread reader = HeldOnAnotherThread.readSection(rcu);
            c.freeBulk(objs, objs.length);
            a.shrink();
            // A reader is inside its section: no slab memory may go back yet.
            for (long p : objs) {
                assertTrue(a.pages().ownerOf(p) != null, "slab returned while a reader may hold an object");
            }
            reader.close();
            rcu.barrier();
            a.shrink();
            int returned = 0;
            for (long p : objs) {
                if (a.pages().ownerOf(p) == null) {
                    returned++;
                }
            }
            assertEquals(objs.length, returned, "every slab returned after the grace period");
            c.destroy();
        } finally {
            rcu.close();
        }
    }
}
