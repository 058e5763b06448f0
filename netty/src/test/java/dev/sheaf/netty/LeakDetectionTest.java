package dev.sheaf.netty;

import dev.sheaf.allocator.SlabAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.util.ResourceLeakDetector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A Sheaf buffer dropped without release is reported by Netty's leak detector with its records. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LeakDetectionTest {

    static {
        LeakReports.install();
    }

    private static void leakOne(SheafByteBufAllocator alloc) {
        ByteBuf buf = alloc.directBuffer(100);
        buf.writeLong(42); // an access record
    }

    @Test
    void neverReleasedBufferIsReported() {
        assertEquals(ResourceLeakDetector.Level.PARANOID, ResourceLeakDetector.getLevel());
        try (SlabAllocator sheaf = SlabAllocator.builder().capacity(64L << 20).build()) {
            SheafByteBufAllocator alloc = SheafByteBufAllocator.create(sheaf);
            LeakReports.clear();
            leakOne(alloc);
            // The detector polls its queue when it tracks a new buffer; the test's timeout bounds the wait.
            while (LeakReports.reports().isEmpty()) {
                System.gc();
                alloc.directBuffer(8).release();
            }
            String report = LeakReports.reports().getFirst();
            assertTrue(report.contains("SheafByteBufAllocator.newDirectBuffer"), report);
            assertTrue(report.contains("writeLong"), report);
            LeakReports.clear();
        }
    }
}
