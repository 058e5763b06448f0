package dev.sheaf.allocator;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The child side of {@link ChildJvm}: runs a body under a watchdog and ends the JVM with the exit
 * code the parent understands (0 passed, 1 failed, {@link ChildJvm#EXIT_HANG} stuck). It halts
 * rather than exits, so a stuck non-daemon thread cannot keep a finished child alive.
 */
final class ChildMain {

    private ChildMain() {
    }

    interface Body {
        void run() throws Throwable;
    }

    static void runAndHalt(String what, Duration limit, Body body) {
        CountDownLatch done = new CountDownLatch(1);
        Thread watchdog = Thread.ofPlatform().daemon().name("child-watchdog").start(() -> {
            try {
                if (!done.await(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                    System.out.println("WATCHDOG: " + what + " still running after " + limit.toSeconds()
                            + " s - thread dump follows");
                    dumpThreads();
                    System.out.flush();
                    Runtime.getRuntime().halt(ChildJvm.EXIT_HANG);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        int code;
        long start = System.nanoTime();
        System.out.println("START " + what);
        try {
            body.run();
            System.out.println("PASSED " + what + " in " + (System.nanoTime() - start) / 1_000_000 + " ms");
            code = 0;
        } catch (Throwable t) {
            System.out.println("FAILED " + what + " after " + (System.nanoTime() - start) / 1_000_000 + " ms: " + t);
            t.printStackTrace(System.out);
            code = 1;
        }
        done.countDown();
        watchdog.interrupt();
        System.out.flush();
        System.err.flush();
        Runtime.getRuntime().halt(code);
    }

    static void dumpThreads() {
        for (Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet()) {
            Thread t = e.getKey();
            System.out.println("\"" + t.getName() + "\" " + t.getState() + (t.isDaemon() ? " daemon" : ""));
            for (StackTraceElement f : e.getValue()) {
                System.out.println("    at " + f);
            }
        }
    }
}
