package dev.sheaf.netty;

import dev.sheaf.allocator.SlabAllocator;

/**
 * Test-only windows into the netty module's package-private classes, for the jcstress tests in
 * {@code dev.sheaf.netty.jcstress}.
 */
public final class NettyProbes {

    private NettyProbes() {
    }

    /** One Sheaf allocator for every jcstress state of a JVM (states are many and short-lived). */
    private static final class Shared {
        static final SlabAllocator SHEAF = SlabAllocator.builder().capacity(1L << 30).build();
        static final SheafByteBufAllocator ALLOC = SheafByteBufAllocator.create(SHEAF);
        static final BufferSizes SIZES = new BufferSizes(SHEAF, 0);
        /** A thread that never runs: the owner of every probe's ThreadBuffers, so actors are others. */
        static final Thread NOBODY = new Thread(() -> { });
    }

    /**
     * A thread releases two buffers of an event-loop thread (sendHome) while that thread's
     * ThreadBuffers closes (the thread ended). Every object must be freed exactly once: by close()
     * when its buffer arrived first, else by the releasing thread.
     */
    public static final class ReturnHandOver {
        private final ThreadBuffers home = new ThreadBuffers(Shared.ALLOC, Shared.SIZES, Shared.NOBODY);
        private final boolean brokenClose;
        private final SheafDirectByteBuf first = buffer();
        private final SheafDirectByteBuf second = buffer();
        private int freedByClose;

        /** @param brokenClose close with a plain read then store of the head (broken on purpose) */
        public ReturnHandOver(boolean brokenClose) {
            this.brokenClose = brokenClose;
        }

        private SheafDirectByteBuf buffer() {
            SheafDirectByteBuf b = new SheafDirectByteBuf(Shared.ALLOC, Shared.SIZES, home);
            int ci = Shared.SIZES.classIndex(64);
            b.attach(Shared.SIZES.cache(ci), ci, Shared.SIZES.cache(ci).alloc(), 64);
            return b;
        }

        /** The other thread: releases both buffers home. */
        public void release() {
            home.sendHome(first);
            home.sendHome(second);
        }

        /** The owner's end. */
        public void close() {
            freedByClose = brokenClose ? closePlain() : home.close();
        }

        /** Broken on purpose: a push between the read and the store is overwritten, so never freed. */
        private int closePlain() {
            SheafDirectByteBuf head = (SheafDirectByteBuf) ThreadBuffers.RETURNED.getVolatile(home);
            ThreadBuffers.RETURNED.setVolatile(home, ThreadBuffers.CLOSED);
            return ThreadBuffers.freeReturned(head == ThreadBuffers.CLOSED ? null : head, true);
        }

        /** Objects close() freed. */
        public int freedByClose() {
            return freedByClose;
        }

        /**
         * After both actors: buffers whose object was never freed (each is freed here, so the shared
         * allocator does not fill up). A double free throws in the actor instead.
         */
        public int leaked() {
            int n = 0;
            for (SheafDirectByteBuf b : new SheafDirectByteBuf[] {first, second}) {
                if (b.address() != 0) {
                    b.freeMemory();
                    n++;
                }
            }
            return n;
        }
    }
}
