package dev.sheaf.bench.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LongSpscRingTest {

    @Test
    void fifoAndBounds() {
        LongSpscRing r = new LongSpscRing(4);
        assertEquals(0, r.poll());
        for (int i = 1; i <= 4; i++) {
            assertTrue(r.offer(i));
        }
        assertFalse(r.offer(5));
        assertEquals(1, r.poll());
        assertTrue(r.offer(5));
        for (int i = 2; i <= 5; i++) {
            assertEquals(i, r.poll());
        }
        assertEquals(0, r.poll());
        assertThrows(IllegalArgumentException.class, () -> r.offer(0));
        assertThrows(IllegalArgumentException.class, () -> new LongSpscRing(3));
    }

    /** 200 000 values cross between two threads in order, none lost or duplicated. */
    @Test
    void transfersInOrderBetweenThreads() throws InterruptedException {
        LongSpscRing r = new LongSpscRing(64);
        int n = 200_000;
        Thread producer = Thread.ofPlatform().start(() -> {
            for (long i = 1; i <= n; i++) {
                while (!r.offer(i)) {
                    Thread.onSpinWait();
                }
            }
        });
        long expected = 1;
        while (expected <= n) {
            long v = r.poll();
            if (v == 0) {
                Thread.onSpinWait();
                continue;
            }
            assertEquals(expected++, v);
        }
        producer.join();
        assertEquals(0, r.size());
    }
}
