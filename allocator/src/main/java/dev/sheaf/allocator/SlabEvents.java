package dev.sheaf.allocator;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/*
 * JFR events for the allocator's slow paths that touch the page layer: a cache growing by a slab
 * and memory going back to the OS. Both are rare (one per slab of objects, or per shrink), so
 * creating the event object there costs nothing measurable; the fast paths emit nothing.
 */
final class SlabEvents {

    private SlabEvents() { }

    @Name("dev.sheaf.SlabGrow")
    @Label("Slab Cache Grow")
    @Category({"Sheaf", "Allocator"})
    @Description("A cache took a new slab from the page source")
    @StackTrace(false)
    static final class Grow extends Event {
        @Label("Cache")
        String cache;
        @Label("Slab Size")
        @DataAmount
        long slabBytes;
    }

    @Name("dev.sheaf.PagesReleased")
    @Label("Pages Released")
    @Category({"Sheaf", "Allocator"})
    @Description("Memory handed back to the OS with madvise(MADV_DONTNEED)")
    @StackTrace(false)
    static final class Released extends Event {
        @Label("Bytes")
        @DataAmount
        long bytes;
    }

    static void grow(String cache, long slabBytes) {
        Grow e = new Grow();
        if (e.shouldCommit()) {
            e.cache = cache;
            e.slabBytes = slabBytes;
            e.commit();
        }
    }

    static void released(long bytes) {
        Released e = new Released();
        if (e.shouldCommit()) {
            e.bytes = bytes;
            e.commit();
        }
    }
}
