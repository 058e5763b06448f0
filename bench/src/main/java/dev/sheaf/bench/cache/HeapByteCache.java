package dev.sheaf.bench.cache;

import java.util.Arrays;
import java.util.Iterator;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The on-heap baseline: {@code ConcurrentHashMap<Long, byte[]>}. Reads are lock-free too, but
 * every put allocates a {@code byte[]} (and a node, and usually a boxed {@code Long}), so the
 * garbage collector pays for what RCU pays with grace periods; run it with {@code -prof gc} or
 * look at the GC figures the harness prints. Eviction past the bound removes the iterator's first key.
 */
public final class HeapByteCache implements ByteCache {
    private final ConcurrentHashMap<Long, byte[]> map;
    private final long maxEntries;
    private final int maxValueLength;

    public HeapByteCache(long maxEntries, int maxValueLength) {
        this.map = new ConcurrentHashMap<>((int) Math.min(maxEntries * 4 / 3 + 1, 1 << 30));
        this.maxEntries = maxEntries;
        this.maxValueLength = maxValueLength;
    }

    @Override
    public String name() {
        return "heap-chm";
    }

    @Override
    public int get(long key, byte[] dst) {
        byte[] v = map.get(key);
        if (v == null) {
            return -1;
        }
        System.arraycopy(v, 0, dst, 0, v.length);
        return v.length;
    }

    @Override
    public void put(long key, byte[] value, int length) {
        if (length < 0 || length > maxValueLength || length > value.length) {
            throw new IllegalArgumentException("value length " + length + " outside 0.." + maxValueLength);
        }
        if (map.put(key, Arrays.copyOf(value, length)) == null && map.size() > maxEntries) {
            Iterator<Long> it = map.keySet().iterator();
            if (it.hasNext()) {
                map.remove(it.next());
            }
        }
    }

    @Override
    public boolean remove(long key) {
        return map.remove(key) != null;
    }

    @Override
    public long size() {
        return map.size();
    }

    @Override
    public int maxValueLength() {
        return maxValueLength;
    }

    @Override
    public long offHeapBytes() {
        return -1;
    }

    @Override
    public void close() {
        map.clear();
    }
}
