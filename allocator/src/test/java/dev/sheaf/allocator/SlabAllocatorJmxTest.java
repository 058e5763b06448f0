package dev.sheaf.allocator;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import javax.management.JMX;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The allocator's MXBean as jconsole sees it: through the platform MBeanServer, by attribute name. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SlabAllocatorJmxTest {

    private static final MBeanServer SERVER = ManagementFactory.getPlatformMBeanServer();

    @Test
    void attributesRowsAndShrinkThroughTheMBeanServer() throws Exception {
        ObjectName name = new ObjectName("dev.sheaf:type=SlabAllocator,name=jmx-test");
        SlabAllocator a = SlabAllocator.builder().capacity(64L << 20).jmxName("jmx-test").build();
        try {
            assertTrue(SERVER.isRegistered(name));
            long before = (Long) SERVER.getAttribute(name, "LiveBytes");
            long p = a.malloc(100);
            long big = a.malloc(100_000);
            assertEquals(before + a.usableSize(p) + a.usableSize(big), (Long) SERVER.getAttribute(name, "LiveBytes"));
            assertEquals(a.stats().capacity(), (Long) SERVER.getAttribute(name, "Capacity"));
            assertEquals(1L, (Long) SERVER.getAttribute(name, "LargeAllocations"));
            assertTrue((Long) SERVER.getAttribute(name, "ReservedBytes") > 0);
            assertTrue(((String) SERVER.getAttribute(name, "Slabinfo")).contains("kmalloc-"));
            CompositeData[] rows = (CompositeData[]) SERVER.getAttribute(name, "CacheRows");
            CompositeData row = Arrays.stream(rows).filter(r -> r.get("activeObjects").equals(1L)).findFirst()
                    .orElseThrow();
            assertEquals(a.usableSize(p), (Long) row.get("objectSize"));
            assertTrue(((String) row.get("name")).startsWith("kmalloc-"));
            assertEquals(0L, (Long) SERVER.getAttribute(name, "RcuPendingObjects"), "the engine is not started");
            assertEquals(0L, (Long) SERVER.getAttribute(name, "RcuGracePeriodsCompleted"));

            a.freeRcu(p);
            a.rcuBarrier();
            assertEquals(1L, (Long) SERVER.getAttribute(name, "RcuFreed"));
            assertTrue((Long) SERVER.getAttribute(name, "RcuGracePeriodsCompleted") >= 1);
            a.free(big);
            Object shrunk = SERVER.invoke(name, "shrink", null, null);
            assertInstanceOf(Long.class, shrunk);
            assertEquals(before, (Long) SERVER.getAttribute(name, "LiveBytes"));

            SlabAllocatorMXBean proxy = JMX.newMXBeanProxy(SERVER, name, SlabAllocatorMXBean.class);
            assertEquals(a.stats().slabs(), proxy.getSlabs());
        } finally {
            a.close();
        }
        assertFalse(SERVER.isRegistered(name), "close() unregisters");
    }

    @Test
    void nameRulesAndClashes() throws Exception {
        ObjectName custom = new ObjectName("com.example:type=Pool,name=one");
        try (SlabAllocator a = SlabAllocator.builder().capacity(1 << 20).jmxName(custom.toString()).build()) {
            assertTrue(SERVER.isRegistered(custom));
            assertThrows(IllegalArgumentException.class,
                    () -> SlabAllocator.builder().capacity(1 << 20).jmxName(custom.toString()).build());
            assertTrue(SERVER.isRegistered(custom), "a clash leaves the first registration alone");
            assertEquals(a.stats().caches(), (Integer) SERVER.getAttribute(custom, "Caches"));
        }
        assertFalse(SERVER.isRegistered(custom));
        try (SlabAllocator b = SlabAllocator.builder().capacity(1 << 20).jmxName("a,b=c").build()) {
            assertTrue(SERVER.isRegistered(new ObjectName("dev.sheaf:type=SlabAllocator,name="
                    + ObjectName.quote("a,b=c"))));
            b.close();
            b.close();
        }
        assertThrows(IllegalArgumentException.class, () -> SlabAllocator.builder().jmxName(""));
        assertThrows(IllegalArgumentException.class, () -> SlabAllocator.builder().jmxName(null));
        assertThrows(IllegalArgumentException.class, () -> SlabAllocator.builder().jmxName("x:"));
    }
}
