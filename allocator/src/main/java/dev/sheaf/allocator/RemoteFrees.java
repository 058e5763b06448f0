package dev.sheaf.allocator;

/*
 * Implementation notes.
 *
 * Remote frees: an object freed by a thread other than the one whose slab it came from goes
 * home in bulk (mimalloc's thread-free lists, moved a whole sheaf at a time) instead of into the
 * freeing thread's main sheaf, where that thread's next alloc would hand it out again and keep two
 * threads writing around one cache line (passive false sharing).
 *
 * Home. A magazine refills from one slab at a time, its home slab (SlabNode.popHome): the slab
 * leaves the partial list when the magazine claims it and names the magazine in Slab.home until
 * the magazine has taken its last free object (the slab is then full, on no list, and homeless)
 * or hands it back (SlabNode.disown: retire, handle close, flush). Objects freed to an owned slab
 * stay on its free list for its owner. So a slab has at most one home and a live home's slab is
 * refilled by nobody else. Slab.home is written under the node lock and read here without it: it
 * is a hint, and a stale one only sends an object to a magazine that frees it like any other.
 *
 * Per free. pushMain first reads the home id of the object's block (PageSource.homeIds, written
 * with Slab.home under the node lock, read without it): 0 (no home) or the magazine's own homeId
 * keeps the object, so objects of old, exhausted slabs cost nothing extra. Another id comes to
 * route(), which reads the object's slab (PageSource.ownerOf; the address was validated before).
 * No home after all, this magazine, or a retired home (inbox CLOSED): the object is kept. A home
 * whose thread has died is retired on the spot (MagazineRegistry.reclaimDead; not in noLock mode)
 * and the object kept, so objects that outlive their thread (thread churn, Larson's fresh threads)
 * do not travel through a dead thread's inbox. Another live home: the object joins this
 * magazine's remote sheaf for that home (owner-only, plain), never this thread's main. pushMain itself appends to the remote sheaf while the object's home
 * is the one that sheaf is for and it is below the send point (capacity - 1), so a steady stream
 * to one home (producer/consumer) costs no more per object than a local free.
 *
 * Hand-over. The remote sheaf is sent when it holds the magazine's capacity or when an object for
 * another home arrives: pushed on the home's inbox, a Treiber stack of sheaves headed by
 * Magazine.inbox. The sender writes the sheaf's objects, `below` and `depth` before its CAS (a
 * volatile write), and the home's getAndSet (a volatile read) then sees them: the hand-over is the
 * only ordering the objects need. One CAS per sheaf, none per object. No ABA: senders only push, and
 * a push links `below` to the very head its CAS compares against; the one taker takes everything.
 * The home takes its inbox on its alloc slow path before the barn (SheafExchange). An inbox holds at
 * most INBOX_DEPTH sheaves; a sheaf that finds it full, or CLOSED, goes to the barn as a full sheaf,
 * else its objects to slabs: a remote free never waits for its home and never loses an object.
 *
 * Close. Retiring a magazine swaps CLOSED into its inbox and gives back what it took; a send
 * that loses that race sees CLOSED and goes to the barn, so every sheaf ends in exactly one place.
 * Handle close and flushes swap null in (the inbox stays open). All give the magazine's own remote
 * sheaf to the barn or slabs, never to another inbox, so one pass over every magazine (destroy)
 * leaves nothing in any.
 *
 * noLock mode: no waiting and no new sheaf: route() only appends to a remote sheaf it has (or gets
 * from the barn by tryLock) for the same home with room left, and never sends; otherwise the object
 * is freed locally. The home never takes its inbox in noLock mode.
 *
 * Map: constants; route (per free); send, offer (hand-over); takeAll, giveToCache; takeInbox
 * (the home); close (end of a magazine's use).
 */
/** Remote frees of one cache: routing a freed object home and the inbox hand-over. */
final class RemoteFrees {

    /** The inbox of a retired magazine: sends fail and go to the barn. */
    static final Sheaf CLOSED = new Sheaf(0);
    /** Sheaves an inbox holds before sends go to the barn instead. */
    static final int INBOX_DEPTH = 4;

    private final SlabCache cache;
    private final PageSource pages;
    private final Barn barn;
    private final SlabNode node;
    private final int sheafLength;

    RemoteFrees(SlabCache cache, PageSource pages, Barn barn, SlabNode node, int sheafLength) {
        this.cache = cache;
        this.pages = pages;
        this.barn = barn;
        this.node = node;
        this.sheafLength = sheafLength;
    }

    /**
     * The free slow path's first step for an object whose block names another home; the caller
     * owns {@code m}. True when the object went to m's remote sheaf; false when m keeps it (its
     * home is gone or was m after all) or, in noLock mode, it could not be routed without waiting.
     */
    boolean route(Magazine m, long a, boolean noLock) {
        Slab s = pages.ownerOf(a);
        if (s == null || s.cache != cache) {
            return false; // validated by every caller: no route, the ordinary path reports it
        }
        Magazine home = s.home;
        if (home == null || home == m || home.inbox == CLOSED) {
            return false; // homeIds was stale, or the home is retired: keep it
        }
        if (home.ownerDead()) {
            // Its thread is gone: keep the object, and retire the dead now (not at the next slab
            // growth), so its slab loses its home and the next frees of it stay on the fast path.
            if (!noLock) {
                cache.magazines.reclaimDead();
            }
            return false;
        }
        Sheaf r = m.remote;
        if (r != null && (m.remoteHome != home || r.size == r.objects.length)) {
            if (noLock) {
                return false;
            }
            send(m);
            r = null;
        }
        if (r == null) {
            r = barn.takeEmpty(noLock);
            if (r == null) {
                if (noLock) {
                    return false;
                }
                r = new Sheaf(sheafLength);
            }
            m.remote = r;
            m.remoteHome = home;
            m.remoteHomeId = home.homeId;
        }
        r.objects[r.size++] = a;
        CacheCounters.count(m, CacheCounters.C_REMOTE);
        if (r.size >= m.capacity && !noLock) {
            send(m);
        }
        return true;
    }

    /** Sends m's remote sheaf to its home (or, refused, to the barn or slabs); the caller owns m. */
    void send(Magazine m) {
        Sheaf r = m.remote;
        Magazine home = m.remoteHome;
        m.remote = null;
        m.remoteHome = null;
        m.remoteHomeId = 0;
        if (r == null) {
            return;
        }
        if (r.size == 0) {
            barn.putEmpty(r);
        } else if (offer(home, r)) {
            CacheCounters.count(m, CacheCounters.C_REMOTE_SENT);
        } else {
            giveToCache(r);
        }
    }

    /** Pushes {@code r} on {@code home}'s inbox; false when the inbox is full or closed. */
    static boolean offer(Magazine home, Sheaf r) {
        for (;;) {
            Sheaf head = (Sheaf) Magazine.INBOX.getVolatile(home);
            if (head == CLOSED || head != null && head.depth >= INBOX_DEPTH) {
                return false;
            }
            r.below = head;
            r.depth = head == null ? 1 : head.depth + 1;
            if (Magazine.INBOX.compareAndSet(home, head, r)) {
                return true;
            }
        }
    }

    /**
     * Takes every sheaf in m's inbox (newest first, linked by {@code below}) and leaves
     * {@code next} there: null keeps it open, CLOSED retires it. One getAndSet, so a concurrent
     * offer lands either in the chain returned or after it (then it sees {@code next}).
     */
    static Sheaf takeAll(Magazine m, Sheaf next) {
        Sheaf head = (Sheaf) Magazine.INBOX.getAndSet(m, next);
        return head == CLOSED ? null : head;
    }

    /** A non-empty sheaf nobody will take home: to the barn as a full sheaf, else to slabs. */
    private void giveToCache(Sheaf s) {
        s.below = null;
        s.depth = 0;
        if (cache.state() == SlabCache.LIVE && barn.putFull(s)) {
            return;
        }
        node.flushSheaf(s, false);
        barn.putEmpty(s);
    }

    /**
     * The home's take, on its alloc slow path with main empty and the spare null or empty (the
     * caller owns {@code m}): the newest sheaf sent here becomes main, the next one the spare,
     * the rest go to the barn. False when the inbox was empty. A plain volatile read first, so an
     * empty inbox costs no locked instruction.
     */
    boolean takeInbox(Magazine m) {
        Sheaf seen = m.inbox;
        if (seen == null || seen == CLOSED) { // CLOSED only once retired: the owner is dead, no race
            return false;
        }
        Sheaf head = takeAll(m, null);
        Sheaf empty = m.main;
        Sheaf next = head.below;
        head.below = null;
        head.depth = 0;
        m.main = head;
        if (m.spare == null) {
            m.spare = empty;
        } else {
            barn.putEmpty(empty);
        }
        while (next != null) {
            Sheaf s = next;
            next = s.below;
            s.below = null;
            s.depth = 0;
            if (m.spare.size == 0) {
                barn.putEmpty(m.spare);
                m.spare = s;
            } else {
                giveToCache(s);
            }
        }
        return true;
    }

    /**
     * The end of a magazine's use, or a flush (the caller owns it, its owner is dead, or nobody
     * else uses the cache): its remote sheaf and its inbox go to the barn or slabs, not to another
     * magazine's inbox, so one pass over all magazines leaves no object in any;
     * {@code retire} leaves the inbox CLOSED for good.
     */
    void close(Magazine m, boolean retire) {
        Sheaf r = m.remote;
        m.remote = null;
        m.remoteHome = null;
        m.remoteHomeId = 0;
        if (r != null && r.size > 0) {
            giveToCache(r);
        }
        Sheaf s = takeAll(m, retire ? CLOSED : null);
        while (s != null) {
            Sheaf next = s.below;
            giveToCache(s);
            s = next;
        }
    }
}
