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
     * An rcu sheaf (capacity 4) whose owner has published object 1, then appends 2, 3 and 4,
     * closes, compacts what it kept, and opens the same sheaf again for objects 5 and 6 (as a
     * recycled sheaf would be); a stealer races it with RcuSheafProtocol.steal. Every object must
     * end up in exactly one place: the owner's closed part, the stealer's sheaf, or published and
     * untaken in the sheaf's new life. {@code brokenClose} makes the owner close with a plain read
     * and a plain store of `taken` instead of the CAS (broken on purpose).
     */
    public static final class RcuStealVsClose {
        private static final int CAP = 4;
        private final boolean brokenClose;
        private final Magazine magazine = new Magazine(CAP, CAP, null);
        private final Sheaf sheaf = new Sheaf(CAP);
        private final Sheaf stolen = new Sheaf(CAP);
        private final long[] ownerKept = new long[CAP];
        private int ownerKeptCount;

        public RcuStealVsClose(boolean brokenClose) {
            this.brokenClose = brokenClose;
            RcuSheafProtocol.open(sheaf, 0);
            RcuSheafProtocol.append(sheaf, 1);
            magazine.publishRcuSheaf(sheaf);
        }

        /** The owner: fills the sheaf, closes it, keeps its part, starts a new life with 5 and 6. */
        public void owner() {
            RcuSheafProtocol.append(sheaf, 2);
            RcuSheafProtocol.append(sheaf, 3);
            RcuSheafProtocol.append(sheaf, 4);
            int from = brokenClose ? closePlain() : RcuSheafProtocol.close(sheaf, CAP);
            int kept = CAP - from;
            System.arraycopy(sheaf.objects, from, sheaf.objects, 0, kept); // the compaction
            System.arraycopy(sheaf.objects, 0, ownerKept, 0, kept);
            ownerKeptCount = kept;
            RcuSheafProtocol.open(sheaf, 0);
            RcuSheafProtocol.append(sheaf, 5);
            RcuSheafProtocol.append(sheaf, 6);
        }

        /** Broken on purpose: no CAS, so a stealer's claim between the read and the store is lost. */
        private int closePlain() {
            long t = (long) Sheaf.TAKEN.getVolatile(sheaf);
            Sheaf.TAKEN.setVolatile(sheaf, Sheaf.pack(Sheaf.generation(t), CAP));
            return Sheaf.count(t);
        }

        /** The stealer (an aged flush: no waiting). */
        public void steal() {
            RcuSheafProtocol.steal(magazine, stolen, CAP, false);
        }

        public int stolen() {
            return stolen.size;
        }

        /** After both actors: how many of objects 1..6 are not in exactly one place (0 = correct). */
        public int misplaced() {
            int[] seen = new int[7];
            int bad = 0;
            for (int i = 0; i < ownerKeptCount; i++) {
                bad += note(seen, ownerKept[i]);
            }
            for (int i = 0; i < stolen.size; i++) {
                bad += note(seen, stolen.objects[i]);
            }
            long p = sheaf.published;
            long t = sheaf.taken;
            if (Sheaf.generation(p) == Sheaf.generation(t)) {
                for (int i = Sheaf.count(t); i < Sheaf.count(p); i++) {
                    bad += note(seen, sheaf.objects[i]);
                }
            }
            for (int k = 1; k <= 6; k++) {
                if (seen[k] != 1) {
                    bad++;
                }
            }
            return bad;
        }

        private static int note(int[] seen, long a) {
            if (a < 1 || a > 6) {
                return 1;
            }
            seen[(int) a]++;
            return 0;
        }
    }

    /**
     * The barrier rule: an rcu sheaf (capacity 4) holds objects 1..3 of earlier calls; its owner
     * appends 4, closes, compacts, "submits" (a volatile store, as the engine's sealed stack
     * publishes) and only then stores its next sheaf in the slot. A barrier-style flush
     * (RcuSheafProtocol.steal, waiting for a closing owner) followed by a read of the submissions
     * must find each of 1..3 exactly once, stolen or submitted.
     */
    public static final class RcuBarrierVsClose {
        private static final int CAP = 4;
        private final Magazine magazine = new Magazine(CAP, CAP, null);
        private final Sheaf sheaf = new Sheaf(CAP);
        private final Sheaf next = new Sheaf(CAP);
        private final Sheaf stolen = new Sheaf(CAP);
        private volatile Sheaf submitted;
        private Sheaf barrierSawSubmitted;

        public RcuBarrierVsClose() {
            RcuSheafProtocol.open(sheaf, 0);
            RcuSheafProtocol.append(sheaf, 1);
            RcuSheafProtocol.append(sheaf, 2);
            RcuSheafProtocol.append(sheaf, 3);
            magazine.publishRcuSheaf(sheaf);
        }

        /** The owner's last append and close, as RcuSheaves.close does it. */
        public void owner() {
            RcuSheafProtocol.append(sheaf, 4);
            int from = RcuSheafProtocol.close(sheaf, CAP);
            Sheaf slot = sheaf;
            try {
                int kept = CAP - from;
                if (kept == 0) {
                    RcuSheafProtocol.open(sheaf, 0);
                } else {
                    System.arraycopy(sheaf.objects, from, sheaf.objects, 0, kept);
                    sheaf.size = kept;
                    submitted = sheaf;
                    slot = RcuSheafProtocol.open(next, 0);
                }
            } finally {
                magazine.publishRcuSheaf(slot);
            }
        }

        /** rcuBarrier: steal (waiting out a close), then read what was submitted. */
        public void barrier() {
            RcuSheafProtocol.steal(magazine, stolen, CAP, true);
            barrierSawSubmitted = submitted;
        }

        /** How many of the earlier objects 1..3 the barrier saw exactly once (3 = correct). */
        public int earlierSeenOnce() {
            int[] seen = new int[5];
            for (int i = 0; i < stolen.size; i++) {
                seen[(int) stolen.objects[i]]++;
            }
            Sheaf s = barrierSawSubmitted;
            if (s != null) {
                for (int i = 0; i < s.size; i++) {
                    seen[(int) s.objects[i]]++;
                }
            }
            return (seen[1] == 1 ? 1 : 0) + (seen[2] == 1 ? 1 : 0) + (seen[3] == 1 ? 1 : 0);
        }

        /** Where object 4 went as the barrier saw it: 0 not seen, 1 stolen, 2 submitted, 3 both (wrong). */
        public int fourth() {
            int w = 0;
            for (int i = 0; i < stolen.size; i++) {
                w |= stolen.objects[i] == 4 ? 1 : 0;
            }
            Sheaf s = barrierSawSubmitted;
            if (s != null) {
                for (int i = 0; i < s.size; i++) {
                    w |= s.objects[i] == 4 ? 2 : 0;
                }
            }
            return w;
        }
    }

    /**
     * The inbox hand-over (RemoteFrees): a sender offers two sheaves, one after the other (objects
     * 1, 2 and 3, 4; the second lands on the first when both get in), to a home's inbox while the
     * home takes everything ({@code retire} false) or retires the
     * inbox (true). Each object must end in exactly one place: the chain the home took, the inbox
     * afterwards, or a refused sheaf (which goes to the barn). jcstress runs two actors on this
     * 2-CPU machine, so one thread sends both. {@code brokenRetire}
     * retires with a plain read and a plain store instead of the getAndSet (broken on purpose).
     */
    public static final class InboxHandOver {
        private final Magazine home = new Magazine(4, 4, null);
        private final boolean retire;
        private final boolean brokenRetire;
        private final Sheaf first = sheafOf(1, 2);
        private final Sheaf second = sheafOf(3, 4);
        private boolean firstRefused;
        private boolean secondRefused;
        private Sheaf taken;

        public InboxHandOver(boolean retire, boolean brokenRetire) {
            this.retire = retire;
            this.brokenRetire = brokenRetire;
        }

        private static Sheaf sheafOf(long x, long y) {
            Sheaf s = new Sheaf(4);
            s.objects[0] = x;
            s.objects[1] = y;
            s.size = 2;
            return s;
        }

        /** The remote thread: sends one remote sheaf, then another. */
        public void send() {
            firstRefused = !RemoteFrees.offer(home, first);
            secondRefused = !RemoteFrees.offer(home, second);
        }

        /** The home: takes its whole inbox, leaving it open or CLOSED. */
        public void home() {
            taken = brokenRetire ? takePlain() : RemoteFrees.takeAll(home, retire ? RemoteFrees.CLOSED : null);
        }

        /** Broken on purpose: a send between the read and the store is overwritten, so lost. */
        private Sheaf takePlain() {
            Sheaf head = (Sheaf) Magazine.INBOX.getVolatile(home);
            Magazine.INBOX.setVolatile(home, RemoteFrees.CLOSED);
            return head == RemoteFrees.CLOSED ? null : head;
        }

        /** Sheaves in the chain the home took. */
        public int takenSheaves() {
            int n = 0;
            for (Sheaf s = taken; s != null && n < 3; s = s.below) {
                n++;
            }
            return n;
        }

        /** After every actor: how many of objects 1..4 are not in exactly one place (0 = correct). */
        public int misplaced() {
            int[] seen = new int[5];
            int bad = walk(seen, taken);
            Sheaf rest = (Sheaf) Magazine.INBOX.getVolatile(home);
            if (rest != RemoteFrees.CLOSED) {
                bad += walk(seen, rest);
            }
            if (firstRefused) {
                bad += walk(seen, sheafOf(1, 2));
            }
            if (secondRefused) {
                bad += walk(seen, sheafOf(3, 4));
            }
            for (int k = 1; k <= 4; k++) {
                if (seen[k] != 1) {
                    bad++;
                }
            }
            return bad;
        }

        private static int walk(int[] seen, Sheaf chain) {
            int bad = 0;
            int steps = 0;
            for (Sheaf s = chain; s != null; s = s.below) {
                if (++steps > 2) {
                    return bad + 1; // a cycle or a third sheaf: wrong
                }
                for (int i = 0; i < s.size; i++) {
                    long a = s.objects[i];
                    if (a < 1 || a > 4) {
                        bad++;
                    } else {
                        seen[(int) a]++;
                    }
                }
            }
            return bad;
        }
    }
}
