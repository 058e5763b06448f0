package dev.sheaf.allocator;

/*
 * Implementation notes.
 *
 * The steps of the rcu sheaf's published/taken protocol (RcuSheaves notes give the argument),
 * kept apart from submission and the barn so that jcstress drives exactly this code:
 *  - open: a new rcu life (generation + 1), taken then published, both release stores, before
 *    the sheaf is stored in a slot;
 *  - append: the owner's store of the object, then the release store of the count (no locked
 *    instruction);
 *  - close: the owner's CAS of taken to the capacity (a loop only while stealers move it);
 *  - steal: copy [t, n) first, then CAS taken (g, t) -> (g, n); a barrier waits out a closing owner.
 *
 * Map: open; append; close; steal.
 */
/** The published/taken steps of an rcu sheaf shared by its owner and the stealers. */
final class RcuSheafProtocol {

    private RcuSheafProtocol() { }

    /**
     * Opens a new rcu life of {@code s} holding its first {@code count} objects. The caller holds
     * the sheaf and has not stored it in a slot yet, or holds the closed sheaf of its own slot.
     */
    static Sheaf open(Sheaf s, int count) {
        int g = Sheaf.generation((long) Sheaf.TAKEN.getVolatile(s)) + 1; // wraps after 2^32 lives (Sheaf notes)
        Sheaf.TAKEN.setRelease(s, Sheaf.pack(g, 0));
        // Release after taken: a stealer that acquires this published reads taken of this life.
        Sheaf.PUBLISHED.setRelease(s, Sheaf.pack(g, count));
        return s;
    }

    /** The owner appends {@code a} (its state byte already stored); the new count. */
    static int append(Sheaf r, long a) {
        long p = r.published; // plain: only the owner writes it
        int n = Sheaf.count(p);
        r.objects[n] = a;
        // Release: a stealer that acquires the count reads the object and its PENDING state.
        Sheaf.PUBLISHED.setRelease(r, p + 1);
        return n + 1;
    }

    /**
     * The owner (or the retirer of a dead owner) closes {@code r}'s life: taken becomes
     * (g, capacity). Returns how many objects stealers had taken; objects[that, published count)
     * are the caller's alone from now on.
     */
    static int close(Sheaf r, int capacity) {
        long p = r.published; // the owner's own field
        int g = Sheaf.generation(p);
        long closed = Sheaf.pack(g, capacity);
        long t;
        do {
            t = (long) Sheaf.TAKEN.getVolatile(r);
        } while (!Sheaf.TAKEN.compareAndSet(r, t, closed)); // only stealers move t meanwhile (same g)
        return Math.min(Sheaf.count(t), Sheaf.count(p));
    }

    /**
     * Steals the published, untaken objects of {@code m}'s rcu sheaf into {@code dst} (an empty
     * sheaf of the caller's), setting its size; their count (0: none). With {@code barrier}, a
     * sheaf whose holder is between its close and its slot store is waited for instead of skipped
     * (Magazine.waitWhileClosing); otherwise it never waits.
     */
    static int steal(Magazine m, Sheaf dst, int capacity, boolean barrier) {
        while (true) {
            Sheaf s = m.rcuSheafForSteal();
            if (s == null) {
                return 0;
            }
            long p = (long) Sheaf.PUBLISHED.getAcquire(s);
            long t = (long) Sheaf.TAKEN.getVolatile(s);
            int g = Sheaf.generation(p);
            if (Sheaf.generation(t) != g) {
                continue; // opened again between the two reads: look again
            }
            int from = Sheaf.count(t);
            int n = Sheaf.count(p);
            if (from < n) {
                // Copy first, then claim: a successful CAS proves [from, n) was not rewritten
                // (the value (g, from) never comes back; RcuSheaves notes).
                System.arraycopy(s.objects, from, dst.objects, 0, n - from);
                if (Sheaf.TAKEN.compareAndSet(s, t, Sheaf.pack(g, n))) {
                    dst.size = n - from;
                    return n - from;
                }
                continue;
            }
            if (barrier && from == capacity) {
                m.waitWhileClosing(s, t);
                continue;
            }
            return 0;
        }
    }
}
