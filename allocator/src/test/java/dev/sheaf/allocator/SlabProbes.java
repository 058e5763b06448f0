package dev.sheaf.allocator;

import dev.sheaf.allocator.memory.FreePointer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.IdentityHashMap;
import java.util.Map;

/** Public windows on package-private pieces, for the jcstress tests in the jcstress package. */
public final class SlabProbes {

    private SlabProbes() { }

    /** Three 16-byte objects on a DeferredFreeList linked at offset 8. */
    public static final class DeferredList {
        private final MemorySegment mem = Arena.ofAuto().allocate(48, 16);
        private final DeferredFreeList list = new DeferredFreeList(8, FreePointer.newKey());
        private final int[] seen = new int[3];
        private int unknown;

        public void push(int i) {
            list.push(mem.address() + 16L * i);
        }

        /** Detaches the list and records what was on it. */
        public void drain() {
            long a = list.drainAll();
            long n = 0;
            while (a != 0) {
                long next = list.next(a);
                long idx = (a - mem.address()) / 16;
                if (idx >= 0 && idx < 3 && (a - mem.address()) % 16 == 0) {
                    seen[(int) idx]++;
                } else {
                    unknown++;
                }
                a = next;
                n++;
                if (n > 10) {
                    unknown++;
                    break;
                }
            }
            list.consumed(n);
        }

        public int seen(int i) {
            return seen[i];
        }

        public int unknown() {
            return unknown;
        }
    }

    /** A barn with one full sheaf (3 objects) and one empty, and two parties exchanging with it. */
    public static final class BarnExchange {
        private final Barn barn = new Barn(2, 2);
        private final Sheaf full0 = sheaf(3);
        private final Sheaf empty0 = sheaf(0);
        private final Sheaf emptyA = sheaf(0);
        private final Sheaf fullB = sheaf(3);
        private Sheaf heldA;
        private Sheaf heldB;
        private Sheaf givenB;

        public BarnExchange() {
            barn.putFull(full0);
            barn.putEmpty(empty0);
        }

        private static Sheaf sheaf(int size) {
            Sheaf s = new Sheaf(4);
            for (int i = 0; i < size; i++) {
                s.objects[i] = 1000 + i;
            }
            s.size = size;
            return s;
        }

        /** Allocation side: give an empty sheaf, take a full one. */
        public void allocSide() {
            Sheaf f = barn.replaceEmpty(emptyA, false);
            heldA = f == null ? emptyA : f;
        }

        /** Free side: give a full sheaf, take an empty one. */
        public void freeSide() {
            Sheaf e = barn.replaceFull(fullB, false);
            if (e == null) {
                heldB = fullB;            // barn refused: the caller keeps (and would flush) it
            } else if (e == Barn.NO_EMPTY) {
                heldB = null;             // barn took it; the caller would make a new empty one
            } else {
                heldB = e;
            }
            givenB = e;
        }

        /** Objects accounted for (barn + both parties): must be 6. */
        public int objects() {
            int n = 0;
            for (Sheaf s : everything().keySet()) {
                n += s.size;
            }
            return n;
        }

        /** Sheaves seen more than once (barn + both parties): must be 0. */
        public int duplicates() {
            int d = 0;
            for (int c : everything().values()) {
                d += c - 1;
            }
            return d;
        }

        /** Distinct sheaves accounted for: 4 unless the barn dropped an empty one. */
        public int sheaves() {
            return everything().size();
        }

        private Map<Sheaf, Integer> all;

        private Map<Sheaf, Integer> everything() {
            if (all == null) {
                all = new IdentityHashMap<>();
                for (Sheaf s : barn.takeAllFull()) {
                    all.merge(s, 1, Integer::sum);
                }
                for (Sheaf s : barn.takeAllEmpty()) {
                    all.merge(s, 1, Integer::sum);
                }
                if (heldA != null) {
                    all.merge(heldA, 1, Integer::sum);
                }
                if (heldB != null) {
                    all.merge(heldB, 1, Integer::sum);
                }
            }
            return all;
        }
    }

    /**
     * The rcu sheaf hand-off between its owner (one freeRcu call: beginRcu, push, endRcu) and a
     * flusher (rcuBarrier's takeRcuSheafForFlush). The magazine starts with a sheaf holding one
     * object from an earlier call; the owner's call adds a second.
     */
    public static final class RcuSheafHandoff {
        private final Magazine magazine = new Magazine(4, 4, null);
        private int flushed = -1;

        public RcuSheafHandoff() {
            Sheaf earlier = new Sheaf(4);
            earlier.objects[earlier.size++] = 1;
            magazine.endRcu(earlier);
        }

        /** One freeRcu of object 2 by the owner, as RcuSheaves.free does it. */
        public void ownerCall() {
            Sheaf r = magazine.beginRcu();
            try {
                if (r == null) {
                    r = new Sheaf(4); // a flush took ours: start a new one
                }
                r.objects[r.size++] = 2;
            } finally {
                magazine.endRcu(r);
            }
        }

        /** The barrier's flush; records how many objects it took. */
        public void flush() {
            Sheaf s = magazine.takeRcuSheafForFlush();
            flushed = s == null ? 0 : s.size;
        }

        public int flushed() {
            return flushed;
        }

        /** Objects left in the magazine's rcu sheaf after both actors. */
        public int remaining() {
            Sheaf s = magazine.takeRcuSheafForFlush();
            return s == null ? 0 : s.size;
        }
    }
}
