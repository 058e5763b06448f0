package dev.sheaf.allocator;

import static dev.sheaf.allocator.CacheCounters.C_ALLOC_SLOW;
import static dev.sheaf.allocator.CacheCounters.C_BARN_GET;
import static dev.sheaf.allocator.CacheCounters.C_BARN_GET_FAIL;
import static dev.sheaf.allocator.CacheCounters.C_BARN_PUT;
import static dev.sheaf.allocator.CacheCounters.C_BARN_PUT_FAIL;
import static dev.sheaf.allocator.CacheCounters.C_FREE_SLOW;
import static dev.sheaf.allocator.CacheCounters.C_INBOX;
import static dev.sheaf.allocator.CacheCounters.C_NOLOCK_FAIL;
import static dev.sheaf.allocator.CacheCounters.C_REFILL;
import static dev.sheaf.allocator.CacheCounters.C_SHEAF_ALLOC;
import static dev.sheaf.allocator.CacheCounters.count;

/*
 * Implementation notes.
 *
 * The magazine's slow paths (the kernel's __pcs_replace_empty_main/__pcs_replace_full_main):
 * what happens when main is empty on alloc or full on free and the spare could not be exchanged
 * in (that exchange is part of SlabCache's inlined fast path). Whole sheaves move between the
 * magazine and the Barn; when the barn cannot help, main is refilled from or flushed to the
 * SlabNode in one critical section.
 *
 * Alloc order (alloc_from_pcs): pop main; main empty -> swap with a non-empty spare -> the
 * sheaves other threads sent home to this magazine (RemoteFrees.takeInbox) -> barn:
 * give the empty main, take a full sheaf -> refill main in bulk from partial slabs -> grow by a
 * new slab. Free order (free_to_pcs): push main; main full -> swap with an empty spare -> take
 * an empty from the barn (or a new sheaf) if there is no spare -> barn: give the full main, take
 * an empty -> barn full list at its bound: flush main to slabs in one critical section.
 *
 * The caller owns the magazine (its own platform thread's with `busy` set, or a carrier magazine
 * taken out of its slot) and has written main's count back (Magazine.syncMain); it reloads main
 * afterwards (Magazine.loadMain). Counters are the owner's plain per-magazine events. Each slow
 * path first lets SheafSizing adjust the magazine's capacity (field updates only, so the noLock
 * mode may do it too); new sheaves have the cache's one sheaf length, refills take `capacity`.
 *
 * In noLock mode nothing waits and nothing is allocated: the barn and the node only by tryLock,
 * no new sheaf; failure is reported (0 / false) and counted.
 *
 * Map: replaceFullMain (free); replaceEmptyMain (alloc).
 */
/** The magazine's slow paths: exchanges with the barn, refill from and flush to slabs. */
final class SheafExchange {

    private final Barn barn;
    private final SlabNode node;
    private final SheafSizing sizing;
    private final RemoteFrees remoteFrees;

    /** @param remoteFrees the cache's remote frees, or null with LOCAL_FREES (no home slabs) */
    SheafExchange(Barn barn, SlabNode node, SheafSizing sizing, RemoteFrees remoteFrees) {
        this.barn = barn;
        this.node = node;
        this.sizing = sizing;
        this.remoteFrees = remoteFrees;
    }

    /**
     * __pcs_replace_full_main: main is full and the spare is null or full (pushMain already
     * exchanged an empty spare in). Gets an empty main from the barn, or a new sheaf, or flushes
     * main to slabs, then pushes {@code a}. False only in noLock mode when nothing could proceed.
     */
    boolean replaceFullMain(Magazine m, long a, boolean noLock) {
        count(m, C_FREE_SLOW);
        sizing.onSlowPath(m);
        Sheaf main = m.main; // full: pushMain failed, and exchanged main for an empty spare if there was one
        Sheaf spare = m.spare; // so null or not empty
        if (spare == null) {
            Sheaf e = barn.takeEmpty(noLock);
            if (e == null && !noLock) {
                count(m, C_SHEAF_ALLOC);
                e = new Sheaf(sizing.sheafLength);
            }
            if (e != null) {
                m.spare = main;
                m.main = e;
            } else if (!node.flushSheaf(main, true)) {
                count(m, C_NOLOCK_FAIL);
                return false;
            }
        } else {
            Sheaf r = barn.replaceFull(main, noLock);
            if (r == Barn.NO_EMPTY) {
                count(m, C_BARN_PUT);
                count(m, C_SHEAF_ALLOC);
                m.main = new Sheaf(sizing.sheafLength);
            } else if (r != null) {
                count(m, C_BARN_PUT);
                m.main = r;
            } else {
                count(m, C_BARN_PUT_FAIL);
                if (!node.flushSheaf(main, noLock)) {
                    count(m, C_NOLOCK_FAIL);
                    return false;
                }
            }
        }
        Sheaf s = m.main;
        s.objects[s.size++] = a;
        return true;
    }


    /**
     * __pcs_replace_empty_main: main is empty and the spare is null or empty (popMain already
     * exchanged a non-empty spare in). Gets a full sheaf from the barn, or refills main from slabs,
     * then pops one object; 0 when nothing is available.
     */
    long replaceEmptyMain(Magazine m, boolean noLock) {
        count(m, C_ALLOC_SLOW);
        sizing.onSlowPath(m);
        Sheaf main = m.main; // empty: popMain failed, and exchanged main for a non-empty spare if there was one
        Sheaf spare = m.spare; // so null or empty
        Sheaf full = null;
        if (!noLock && remoteFrees != null && remoteFrees.takeInbox(m)) {
            count(m, C_INBOX);
        } else if ((full = barn.replaceEmpty(spare == null ? null : main, noLock)) != null) {
            count(m, C_BARN_GET);
            if (spare == null) {
                m.spare = main;
            }
            m.main = full;
        } else {
            count(m, C_BARN_GET_FAIL);
            count(m, C_REFILL);
            // With remote frees the refill comes from m's home slab; without (LOCAL_FREES) no slab
            // has a home, so homeIds stay 0 and every free keeps its object.
            int got = node.takeObjects(remoteFrees != null ? m : null, main.objects, 0, m.capacity, noLock);
            main.size = got;
            if (got == 0) {
                if (noLock) {
                    count(m, C_NOLOCK_FAIL);
                }
                return 0;
            }
        }
        Sheaf s = m.main;
        int n = s.size - 1;
        long a = s.objects[n];
        s.size = n;
        return a;
    }
}
