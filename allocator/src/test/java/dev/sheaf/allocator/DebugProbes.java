package dev.sheaf.allocator;

import java.lang.foreign.Arena;

/**
 * Probes of debug mode for the jcstress tests (package dev.sheaf.allocator.jcstress): one
 * DebugChecks over one slot of native memory, no allocator around it.
 */
public final class DebugProbes {

    private DebugProbes() { }

    /**
     * One object that its owner hands out, fills as a user would and frees again, while another
     * thread checks it as validate() does. The object starts free (poisoned).
     */
    public static final class OwnerVsValidate {
        private static final long LEFT = 16;
        private static final long SIZE = 40;
        private static final long SLOT = RedZones.slotSize(SIZE, 8);
        /** The slot's memory, freed when the probe is collected (jcstress makes many probes). */
        private final Arena arena = Arena.ofAuto();
        private final DebugChecks debug = new DebugChecks("probe", SIZE, LEFT, SLOT, 0, true, AllocTracking.DEFAULT_STACK_DEPTH);
        private final long address = arena.allocate(SLOT, 16).address() + LEFT;
        private final AllocTracking.ObjectRecord record;

        /** A free, poisoned object with a record. */
        public OwnerVsValidate() {
            debug.handOut(address, SIZE);
            debug.release(address);
            record = debug.tracking.find(address);
        }

        /** The owner: hand out, write every byte as the user, free. */
        public void owner() {
            if (debug.handOut(address, SIZE) != null) {
                throw new AssertionError("a clean object was refused");
            }
            BytePatterns.fill(address, SIZE, (byte) 0x11);
            if (debug.release(address) != null) {
                throw new AssertionError("a clean free was reported");
            }
        }

        /**
         * The validator: 1 when it reported the object, 0 when it found it intact, 2 when it
         * skipped it as in flight.
         *
         * @return what the check did
         */
        public int validate() {
            long[] skipped = new long[1];
            SlabCorruptionException e = debug.check(record, x -> true, skipped);
            return e != null ? 1 : skipped[0] > 0 ? 2 : 0;
        }
    }
}
