package dev.sheaf.examples;

import dev.sheaf.allocator.SheafThreads;
import dev.sheaf.allocator.SlabAllocator;
import dev.sheaf.allocator.SlabCache;
import dev.sheaf.rcu.Rcu;
import java.lang.foreign.ValueLayout;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.CompositeAgent;
import org.agrona.concurrent.SleepingMillisIdleStrategy;

/**
 * README recipe "A low-latency service": no Sheaf thread of its own (the background work runs as
 * Agrona agents on a thread the service owns) and a worker that allocates through a thread-bound
 * handle. The README's code block is the region between the example markers, verbatim.
 */
public final class LowLatencyService {

    private LowLatencyService() {
    }

    /**
     * Runs the recipe.
     *
     * @param args unused
     * @throws InterruptedException interrupted while joining the worker
     */
    public static void main(String[] args) throws InterruptedException {
        // example:begin
        Rcu rcu = Rcu.builder().ownWorkerThread(false).build();
        SlabAllocator heap = SlabAllocator.builder().rcu(rcu).rcuFreeWorkerThread(false).build();
        // grace periods, callbacks and frees after a grace period: on one thread of yours
        AgentRunner background = new AgentRunner(new SleepingMillisIdleStrategy(1), Throwable::printStackTrace,
                null, new CompositeAgent(rcu.agent(), heap.rcuFreeAgent()));
        AgentRunner.startOnThread(background);

        SlabCache orders = heap.createCache("order", 64);
        Thread worker = SheafThreads.factory("worker-", false).newThread(() -> {
            try (SlabCache.Local local = orders.local()) {    // bound to this thread: no lookup per call
                for (long i = 0; i < 20_000; i++) {
                    long order = local.alloc();
                    heap.segment(order).set(ValueLayout.JAVA_LONG, 0, i);
                    if (i % 2 == 0) {
                        local.free(order);                     // nobody else can see it
                    } else {
                        local.freeRcu(order);                  // readers may: freed after a grace period
                    }
                }
            }
        });
        worker.start();
        worker.join();

        background.close();    // stop the agents first: close() finishes the pending frees itself
        heap.close();
        rcu.close();
        // example:end
    }
}
