package dev.sheaf.rcu;

/** Thread scaffolding shared by the rcu tests: platform or virtual threads chosen by a flag. */
final class TestThreads {

    /** A body that may throw anything, so that assertion errors travel back to the test thread. */
    @FunctionalInterface
    interface Body {
        void run() throws Throwable;
    }

    private TestThreads() {
    }

    /** A builder for a platform or a virtual thread. */
    static Thread.Builder builder(boolean virtual) {
        return virtual ? Thread.ofVirtual() : Thread.ofPlatform();
    }

    /** Starts {@code r} on a new platform or virtual thread. */
    static Thread start(boolean virtual, Runnable r) {
        return builder(virtual).start(r);
    }

    /** Starts {@code r} on a new named platform or virtual thread. */
    static Thread start(boolean virtual, String name, Runnable r) {
        return builder(virtual).name(name).start(r);
    }

    /** Runs {@code body} on a new platform or virtual thread, waits for it and rethrows its failure. */
    static void runIn(boolean virtual, Body body) throws Throwable {
        Throwable[] failure = new Throwable[1];
        Thread t = start(virtual, () -> {
            try {
                body.run();
            } catch (Throwable e) {
                failure[0] = e;
            }
        });
        t.join();
        if (failure[0] != null) {
            throw failure[0];
        }
    }
}
