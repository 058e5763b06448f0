package dev.sheaf.allocator.rcufree;

import dev.sheaf.rcu.Rcu;
import org.junit.jupiter.api.AfterEach;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Base of the engine tests, which drive RcuFreeEngine alone through a test RcuFreeTarget
 * (ArenaTarget): the domain, target and engine a test builds are closed after it, engine first,
 * and the target must have seen no bad free.
 */
abstract class RcuFreeEngineTestBase {
    Rcu rcu;
    ArenaTarget target;
    RcuFreeEngine engine;

    @AfterEach
    void closeEngine() {
        if (engine != null) {
            engine.close();
        }
        if (rcu != null) {
            rcu.close();
        }
        if (target != null) {
            assertTrue(target.errors.isEmpty(), () -> "target errors: " + target.errors);
            target.close();
        }
    }
}
