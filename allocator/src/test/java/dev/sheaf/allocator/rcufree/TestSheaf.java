package dev.sheaf.allocator.rcufree;

/** An rcu sheaf of the engine tests: a plain array of objects, as the allocator's sheaf holds them. */
final class TestSheaf extends RcuSheaf {

    private final long[] objects;
    private final int size;

    TestSheaf(long[] objects, int size) {
        this.objects = objects;
        this.size = size;
    }

    @Override
    protected long[] addresses() {
        return objects;
    }

    @Override
    protected int count() {
        return size;
    }
}
