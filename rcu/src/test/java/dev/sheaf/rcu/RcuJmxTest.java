package dev.sheaf.rcu;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.management.ManagementFactory;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import javax.management.MBeanServer;
import javax.management.ObjectName;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The domain's MXBean through the platform MBeanServer, by attribute name. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RcuJmxTest {

    private static final MBeanServer SERVER = ManagementFactory.getPlatformMBeanServer();

    @Test
    void countersThroughTheMBeanServer() throws Exception {
        ObjectName name = new ObjectName("dev.sheaf:type=Rcu,name=rcu-jmx-test");
        Rcu rcu = Rcu.builder().name("domain-x").jmxName("rcu-jmx-test").build();
        try {
            assertTrue(SERVER.isRegistered(name));
            assertEquals("domain-x", SERVER.getAttribute(name, "Name"));
            assertEquals("EBR", SERVER.getAttribute(name, "Flavor"));
            long gp = (Long) SERVER.getAttribute(name, "GracePeriodsCompleted");
            rcu.synchronize();
            assertTrue((Long) SERVER.getAttribute(name, "GracePeriodsCompleted") > gp);

            CountDownLatch reader = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Thread t = new Thread(() -> {
                rcu.readLock();
                try {
                    reader.countDown();
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    rcu.readUnlock();
                }
            });
            t.start();
            reader.await();
            rcu.call(() -> { }); // cannot run while the reader holds the grace period
            assertEquals(1L, (Long) SERVER.getAttribute(name, "CallbacksPending"));
            release.countDown();
            t.join();
            rcu.barrier();
            assertEquals(0L, (Long) SERVER.getAttribute(name, "CallbacksPending"));
            assertTrue((Long) SERVER.getAttribute(name, "CallbacksInvoked") >= 1);
            assertEquals(0L, (Long) SERVER.getAttribute(name, "StallsReported"));
            assertEquals(0L, (Long) SERVER.getAttribute(name, "CallbackFailures"));
            // a dead reader's slot may or may not be reclaimed by now: only the type is certain
            assertTrue((Integer) SERVER.getAttribute(name, "ReaderSlots") >= 0);
        } finally {
            rcu.close();
        }
        assertFalse(SERVER.isRegistered(name), "close() unregisters");
    }

    @Test
    void clashIsRefusedAndClosesTheNewDomain() throws Exception {
        try (Rcu first = Rcu.builder().jmxName("rcu-clash").build()) {
            assertThrows(IllegalArgumentException.class, () -> Rcu.builder().jmxName("rcu-clash").build());
            assertTrue(SERVER.isRegistered(new ObjectName("dev.sheaf:type=Rcu,name=rcu-clash")));
            first.synchronize();
        }
        assertThrows(IllegalArgumentException.class, () -> Rcu.builder().jmxName(""));
    }
}
