package dev.sheaf.allocator.rcufree;

import dev.sheaf.rcu.Rcu;
import org.junit.jupiter.api.AfterEach;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tests of the RcuFreeEngine engine on its own, over an RcuArenaHeap: the domain, heap and engine a test
 * builds are closed after it, engine first, and the heap must have seen no bad free.
 */
abstract class RcuEngineTestBase {
    Rcu rcu;
    RcuArenaHeap heap;
    RcuFreeEngine engine;

    @AfterEach
    void closeEngine() {
        if (engine != null) {
            engine.close();
        }
        if (rcu != null) {
            rcu.close();
        }
        if (heap != null) {
            assertTrue(heap.errors.isEmpty(), () -> "heap errors: " + heap.errors);
            heap.close();
        }
    }
}
