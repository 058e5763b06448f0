package dev.sheaf.netty;

import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Installs, once per JVM and before any ByteBuf class is initialised, a leak detector factory whose
 * detectors record their reports here instead of only logging them, and sets the level to PARANOID.
 * Every test class of this module calls {@link #install()} from its static initialiser.
 */
final class LeakReports {

    private static final List<String> REPORTS = new CopyOnWriteArrayList<>();

    static {
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new ResourceLeakDetectorFactory() {
            @Override
            public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval,
                                                                      long maxActive) {
                return new Recording<>(resource, samplingInterval);
            }
        });
    }

    private LeakReports() {
    }

    static void install() {
        // the static initialiser did the work
    }

    static List<String> reports() {
        return List.copyOf(REPORTS);
    }

    static void clear() {
        REPORTS.clear();
    }

    private static final class Recording<T> extends ResourceLeakDetector<T> {
        Recording(Class<T> resource, int samplingInterval) {
            super(resource, samplingInterval);
        }

        @Override
        protected void reportTracedLeak(String resourceType, String records) {
            REPORTS.add("LEAK " + resourceType + records);
            super.reportTracedLeak(resourceType, records);
        }

        @Override
        protected void reportUntracedLeak(String resourceType) {
            REPORTS.add("LEAK (untraced) " + resourceType);
            super.reportUntracedLeak(resourceType);
        }
    }
}
