package dev.sheaf.allocator;

import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

import java.io.PrintWriter;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

/**
 * Runs test classes again and again in one JVM, stopping at the first failure and printing it
 * whole: the hunt for intermittent failures that the build no longer hides behind reruns
 * (scripts/repeat-tests.sh). Usage: {@code RepeatRunner <rounds> <class> [<class>...]}.
 */
public final class RepeatRunner {

    private RepeatRunner() {
    }

    public static void main(String[] args) throws ClassNotFoundException {
        int rounds = Integer.parseInt(args[0]);
        Launcher launcher = LauncherFactory.create();
        for (int i = 1; i < args.length; i++) {
            Class<?> c = Class.forName(args[i]);
            LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request().selectors(selectClass(c)).build();
            long tests = 0;
            long start = System.nanoTime();
            for (int r = 1; r <= rounds; r++) {
                SummaryGeneratingListener listener = new SummaryGeneratingListener();
                launcher.execute(request, listener);
                TestExecutionSummary summary = listener.getSummary();
                tests += summary.getTestsSucceededCount();
                if (summary.getTotalFailureCount() > 0) {
                    System.out.printf("%s: FAILED in round %d of %d%n", c.getSimpleName(), r, rounds);
                    summary.printFailuresTo(new PrintWriter(System.out, true), 60);
                    System.exit(1);
                }
            }
            System.out.printf("%s: %d rounds, %d tests passed, %.0f s%n", c.getSimpleName(), rounds, tests,
                    (System.nanoTime() - start) / 1e9);
        }
    }
}
