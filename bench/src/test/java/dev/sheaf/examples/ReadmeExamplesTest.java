package dev.sheaf.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sheaf.bench.report.ExampleBlocks;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The README's recipes are the examples' code: every {@code ```java} block after a line
 * {@code <!-- example: Class [region] -->} must equal, line for line, the region of
 * {@code dev/sheaf/examples/Class.java} between {@code // example:begin [region]} and
 * {@code // example:end [region]}, with the region's common indentation removed
 * ({@code ./mvnw -q -pl bench -am process-classes -Preadme} copies them).
 */
class ReadmeExamplesTest {

    private static final Pattern MARKER = Pattern.compile("<!-- example: (\\w+)(?: (\\w+))? -->\\n```java\\n(.*?)```",
            Pattern.DOTALL);

    static Path root() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !(Files.exists(p.resolve("README.md")) && Files.isDirectory(p.resolve("jmh-results")))) {
            p = p.getParent();
        }
        assertTrue(p != null, "repository root not found above " + Path.of("").toAbsolutePath());
        return p;
    }

    @Test
    void everyMarkedBlockIsTheExampleCode() throws IOException {
        Path root = root();
        String readme = Files.readString(root.resolve("README.md"), StandardCharsets.UTF_8);
        Matcher m = MARKER.matcher(readme);
        List<String> checked = new ArrayList<>();
        while (m.find()) {
            String cls = m.group(1);
            String region = m.group(2) == null ? "" : m.group(2);
            Path source = root.resolve("bench/src/test/java/dev/sheaf/examples/" + cls + ".java");
            String code = ExampleBlocks.region(Files.readString(source, StandardCharsets.UTF_8), region);
            assertEquals(code, m.group(3), "README block " + cls + " " + region + " differs from " + source);
            checked.add(cls + " " + region);
        }
        assertEquals(List.of("FirstProgram ", "LowLatencyService ", "OffHeapCache cache", "OffHeapCache typesafe",
                "BenchmarkHarness peer", "BenchmarkHarness run", "NettyServer "), checked);
    }

    @Test
    void everyJavaBlockIsMarkedOrAShortSnippet() throws IOException {
        String readme = Files.readString(root().resolve("README.md"), StandardCharsets.UTF_8);
        String[] parts = readme.split("```java\\n");
        for (int i = 1; i < parts.length; i++) {
            String before = parts[i - 1].strip();
            boolean marked = before.endsWith("-->") && before.substring(before.lastIndexOf("<!--")).startsWith("<!-- example:");
            int lines = parts[i].substring(0, parts[i].indexOf("```")).split("\n").length;
            assertFalse(!marked && lines > 6, "an unmarked java block of " + lines + " lines: make it an example");
        }
    }
}
