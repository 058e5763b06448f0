package dev.sheaf.allocator;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongPredicate;

import static dev.sheaf.allocator.SlabCorruptionException.Damage;

/*
 * Implementation notes.
 *
 * Debug mode of one cache (SlabFlag.DEBUG; SlabAllocator.Builder.debug; -Dsheaf.debug=true): red
 * zones (RedZones), poison (Poison), tracking (AllocTracking), quarantine (Quarantine) and
 * segments that die with their object. A debug cache has `hasHooks` set, so its fast paths take
 * the hooked branch they already test, and SlabCache calls in here from the hooked code only:
 * a cache with debug off runs none of this and pays nothing for it.
 *
 * When each check runs:
 *   handOut   (every alloc path, after the state byte says "with user"): a freed object's poison
 *             and free red zones are checked; then the record turns "with user", the red zones
 *             are painted around the requested size and the allocation is traced.
 *   release   (every free path, when the object leaves its user; for freeRcu* when its grace
 *             period has ended): red zones checked around the requested size; the segment arena
 *             closed; the free traced; the object poisoned (not for TYPESAFE_BY_RCU).
 *   evicted   (an object falling out of the quarantine, which every free path enters after
 *             release; SlabCache states when freeNoLock does not): poison and free red zones
 *             checked.
 *   check     (validate()): a record's memory against its stable state, as a seqlock reader.
 *
 * Damage found is repaired (zones repainted, poison refilled) so one bug is reported once, and
 * the call that found it completes before the report is thrown; a report found where nothing
 * may throw (the grace-period engine, freeNoLock, deferred drains) is published at once (logger
 * and JFR, by DebugReports) and kept, and validate() throws the first one kept.
 *
 * Segments: segment(a) gives a slice whose scope is a shared Arena of the object, created on
 * the first call, closed by release (and by the allocator's close), so access through it after
 * the free throws IllegalStateException. Closing a shared arena costs a thread handshake; only
 * objects whose segment was asked for pay it.
 *
 * Map: fields; handOut; release; quarantine; double free; segments; validate support.
 */
/** The debug checks of one cache. */
final class DebugChecks {

    /** Objects a debug cache's quarantine holds before reuse. */
    static final int QUARANTINE_BOUND = 64;

    private final String name;
    private final long objectSize;
    final long leftPad;
    final long slotSize;
    private final long linkOffset;
    private final boolean poison;
    final AllocTracking tracking;
    final Quarantine quarantine = new Quarantine(QUARANTINE_BOUND);
    /** The first report that could not be thrown where it was found; validate() throws it. */
    private final AtomicReference<SlabCorruptionException> kept = new AtomicReference<>();

    DebugChecks(String name, long objectSize, long leftPad, long slotSize, long linkOffset, boolean poison,
                int stackDepth) {
        this.name = name;
        this.tracking = new AllocTracking(stackDepth);
        this.objectSize = objectSize;
        this.leftPad = leftPad;
        this.slotSize = slotSize;
        this.linkOffset = linkOffset;
        this.poison = poison;
    }

    // ---------------------------------------------------------------------------------------
    // Alloc and free

    /**
     * The object {@code a} goes to its user with {@code requested} usable bytes. Returns a report
     * when its free memory was damaged (repaired; the object did not go to the user and the
     * caller gives it back), else null.
     */
    SlabCorruptionException handOut(long a, long requested) {
        AllocTracking.ObjectRecord r = tracking.recordOf(a);
        if (r.free != null) {
            SlabCorruptionException damage = checkFreeMemory(r);
            if (damage != null) {
                repairFree(a);
                return damage;
            }
        }
        r.beginChange();
        r.requested = requested;
        r.alloc = tracking.trace(AllocTracking.ALLOCATED);
        RedZones.paint(a, requested, leftPad, slotSize);
        r.endChange(true);
        return null;
    }

    /**
     * The object {@code a} leaves its user: red zones checked, segment closed, free traced,
     * poisoned. Returns a report of red-zone damage (repaired; the free goes on), else null.
     */
    SlabCorruptionException release(long a) {
        AllocTracking.ObjectRecord r = tracking.recordOf(a);
        long requested = r.alloc == null ? objectSize : r.requested;
        long bad = r.alloc == null ? Long.MIN_VALUE : RedZones.firstBad(a, requested, leftPad, slotSize);
        r.beginChange();
        closeSegment(r);
        r.free = tracking.trace(AllocTracking.FREED);
        SlabCorruptionException damage = null;
        if (bad != Long.MIN_VALUE) {
            damage = DebugReports.report(name, a, bad < 0 ? Damage.UNDERFLOW : Damage.OVERFLOW, bad,
                    String.format("%d usable bytes, %d-byte left red zone, slot of %d bytes; found on free",
                            requested, leftPad, slotSize), r);
        }
        if (poison) {
            Poison.fill(a, objectSize, linkOffset);
        }
        RedZones.paint(a, objectSize, leftPad, slotSize); // repairs, and [objectSize, slot end) is the free zone
        r.endChange(false);
        return damage;
    }

    /** As release, where nothing may throw (engine, drains): a report is logged and kept for validate(). */
    void releaseQuietly(long a) {
        SlabCorruptionException e = release(a);
        if (e != null) {
            keep(e);
        }
    }

    /** Keeps the first report that could not be thrown. */
    void keep(SlabCorruptionException e) {
        kept.compareAndSet(null, e);
    }

    /** Takes the kept report, or null. */
    SlabCorruptionException takeKept() {
        return kept.getAndSet(null);
    }

    /**
     * An object leaving the quarantine: its poison and free red zones are checked (a write after
     * free while it waited); a report is returned with the memory repaired.
     */
    SlabCorruptionException evicted(long a) {
        AllocTracking.ObjectRecord r = tracking.find(a);
        if (r == null) {
            return null;
        }
        SlabCorruptionException damage = checkFreeMemory(r);
        if (damage != null) {
            repairFree(a);
        }
        return damage;
    }

    /** The free memory of a freed object against its pattern; the owner's view (no seq checks). */
    private SlabCorruptionException checkFreeMemory(AllocTracking.ObjectRecord r) {
        long a = r.address;
        long bad = poison ? Poison.firstBad(a, objectSize, linkOffset) : -1;
        if (bad >= 0) {
            return DebugReports.report(name, a, Damage.WRITE_AFTER_FREE, bad,
                    "poison 0x6b expected in the freed object", r);
        }
        long zone = RedZones.firstBad(a, objectSize, leftPad, slotSize);
        if (zone != Long.MIN_VALUE) {
            return DebugReports.report(name, a, zone < 0 ? Damage.UNDERFLOW : Damage.WRITE_AFTER_FREE, zone,
                    "red zone of a freed object overwritten", r);
        }
        return null;
    }

    private void repairFree(long a) {
        if (poison) {
            Poison.fill(a, objectSize, linkOffset);
        }
        RedZones.paint(a, objectSize, leftPad, slotSize);
    }

    /** The report of a free of an object that is not allocated (state {@code st}). */
    SlabCorruptionException doubleFree(long a, byte st) {
        return DebugReports.report(name, a, Damage.DOUBLE_FREE, 0,
                "the object is " + ObjectStates.name(st) + ", not allocated", tracking.find(a));
    }

    /** The requested size of an allocated object (malloc's request, else the object size). */
    long requestedSize(long a) {
        AllocTracking.ObjectRecord r = tracking.find(a);
        return r == null ? objectSize : r.requested;
    }

    // ---------------------------------------------------------------------------------------
    // Segments that die with their object

    /** A segment over the allocated object {@code a} whose scope closes when it is freed. */
    MemorySegment segment(long a) {
        return scopedSegment(tracking.recordOf(a), a);
    }

    /**
     * A segment over the {@code r.requested} bytes at {@code a} (an allocated object or span with
     * record {@code r}) in the record's shared arena, created on the first call; closeSegment
     * closes it.
     */
    @SuppressWarnings("restricted") // a validated object's usable bytes, scoped to the object's life
    static MemorySegment scopedSegment(AllocTracking.ObjectRecord r, long a) {
        Arena arena;
        synchronized (r) {
            arena = r.arena;
            if (arena == null) {
                arena = Arena.ofShared();
                r.arena = arena;
            }
        }
        return MemorySegment.ofAddress(a).reinterpret(r.requested, arena, null);
    }

    /** Closes the segment scope of record {@code r}, if one was created. */
    static void closeSegment(AllocTracking.ObjectRecord r) {
        Arena arena;
        synchronized (r) {
            arena = r.arena;
            r.arena = null;
        }
        if (arena != null) {
            arena.close(); // a handshake: no thread is inside an access through the segment after it
        }
    }

    /** Closes every open segment scope (the allocator is closing). */
    void closeAllSegments() {
        closeAllSegments(tracking);
    }

    /** Closes every open segment scope of {@code tracking}'s records. */
    static void closeAllSegments(AllocTracking tracking) {
        for (AllocTracking.ObjectRecord r : tracking.all()) {
            try {
                closeSegment(r);
            } catch (IllegalStateException ignored) {
                // acquired by a running native call: it keeps the memory it was given
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // validate()

    /**
     * Checks one record's memory as a seqlock reader: an object changing hands, or changing
     * hands while it was read, or whose slab left the cache meanwhile ({@code stillOwned} false
     * after the read), is skipped
     * ({@code skipped[0]++}) and never reported.
     */
    SlabCorruptionException check(AllocTracking.ObjectRecord r, LongPredicate stillOwned, long[] skipped) {
        long s1 = r.seq();
        if (!AllocTracking.ObjectRecord.stable(s1)) {
            skipped[0]++;
            return null;
        }
        boolean user = AllocTracking.ObjectRecord.withUser(s1);
        if (!user && r.free == null) {
            return null; // never freed, being handed out for the first time
        }
        long a = r.address;
        long requested = user ? r.requested : objectSize;
        long zone = RedZones.firstBad(a, requested, leftPad, slotSize);
        long bad = !user && poison ? Poison.firstBad(a, objectSize, linkOffset) : -1;
        VarHandle.loadLoadFence();
        if (r.seq() != s1 || !stillOwned.test(a)) { // changed hands, or its slab left the cache
            skipped[0]++;
            return null;
        }
        if (bad >= 0) {
            return DebugReports.report(name, a, Damage.WRITE_AFTER_FREE, bad,
                    "poison 0x6b expected in the freed object; found by validate()", r);
        }
        if (zone != Long.MIN_VALUE) {
            Damage d = zone < 0 ? Damage.UNDERFLOW : user ? Damage.OVERFLOW : Damage.WRITE_AFTER_FREE;
            return DebugReports.report(name, a, d, zone, (user ? requested + " usable bytes" : "freed object")
                    + "; found by validate()", r);
        }
        return null;
    }

    /** Allocation traces of the tracked objects still with a user (for leak reports), at most {@code max}. */
    List<AllocTracking.Trace> liveAllocations(int max) {
        List<AllocTracking.Trace> out = new ArrayList<>();
        for (AllocTracking.ObjectRecord r : tracking.all()) {
            if (out.size() >= max) {
                break;
            }
            long s = r.seq();
            AllocTracking.Trace t = r.alloc;
            if (AllocTracking.ObjectRecord.stable(s) && AllocTracking.ObjectRecord.withUser(s) && t != null) {
                out.add(t);
            }
        }
        return out;
    }
}
