package dev.sheaf.bench.report;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/*
 * Implementation notes.
 *
 * The files generated from committed sources, in one place: the README's results block (between
 * BEGIN and END, from the quick comparison's JSON), its recipe code blocks (from the examples, see
 * ExampleBlocks), jmh-results/chart.svg (same rows) and the Javadoc overview docs/overview.html
 * (from the README's "How it works"). expected() computes every one from
 * the repository as it is; main writes those that differ, and ReadmeResultsTest fails when any
 * differs, so a change to the JSON or the README section without rerunning this cannot be merged.
 *
 * Map: markers and paths; main; expected; replaceBlock.
 */
/**
 * Rewrites the generated parts of the repository's documentation: the README's results table and
 * chart, its recipe code blocks, and the Javadoc overview page. Run from the repository root (or with the root as the first
 * argument): {@code ./mvnw -q -pl bench -am process-classes -Preadme}.
 */
public final class ReadmeResults {

    /** The line before the README's generated results block. */
    public static final String BEGIN = "<!-- results:begin -->";
    /** The line after the README's generated results block. */
    public static final String END = "<!-- results:end -->";
    /** The chart, relative to the repository root. */
    public static final String CHART = "jmh-results/chart.svg";
    /** The Javadoc overview page, relative to the repository root. */
    public static final String OVERVIEW = "docs/overview.html";

    private ReadmeResults() {
    }

    /**
     * Writes every generated file that differs from what the committed sources give.
     *
     * @param args the repository root, optional (default: the working directory)
     * @throws IOException a source is missing or a file cannot be written
     */
    public static void main(String[] args) throws IOException {
        Path root = Path.of(args.length > 0 ? args[0] : System.getProperty("sheaf.root", ".")).toAbsolutePath();
        for (var e : expected(root).entrySet()) {
            Path file = root.resolve(e.getKey());
            String now = Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : null;
            if (!e.getValue().equals(now)) {
                Files.createDirectories(file.getParent());
                Files.writeString(file, e.getValue(), StandardCharsets.UTF_8);
                System.out.println("rewrote " + e.getKey());
            } else {
                System.out.println("up to date: " + e.getKey());
            }
        }
    }

    /**
     * Every generated file's expected content, computed from the repository's committed sources.
     *
     * @param root the repository root
     * @return content by path relative to {@code root}: README.md, the chart and the overview
     * @throws IOException a source file is missing or unreadable
     * @throws IllegalArgumentException the README lacks its markers or its "How it works" section,
     *         an example lacks a region the README names, or a results file is not the JSON the
     *         comparison writes
     */
    public static Map<String, String> expected(Path root) throws IOException {
        ResultsSummary summary = ResultsSummary.load(root.resolve("jmh-results"));
        String readme = Files.readString(root.resolve("README.md"), StandardCharsets.UTF_8);
        String newReadme = ExampleBlocks.sync(replaceBlock(readme, SummaryTable.markdown(summary, CHART)), root);
        Map<String, String> files = new LinkedHashMap<>();
        files.put("README.md", newReadme);
        files.put(CHART, RatioChart.svg(summary.rows()));
        files.put(OVERVIEW, OverviewPage.html(newReadme));
        return files;
    }

    /**
     * The text with the lines between {@link #BEGIN} and {@link #END} replaced by {@code block}.
     *
     * @param text  the README
     * @param block the new block, ending with a newline
     * @return the new README
     * @throws IllegalArgumentException the markers are missing or out of order
     */
    public static String replaceBlock(String text, String block) {
        int b = text.indexOf(BEGIN + "\n");
        int e = text.indexOf(END);
        if (b < 0 || e < b) {
            throw new IllegalArgumentException("README needs the lines " + BEGIN + " and " + END + ", in that order");
        }
        int from = b + BEGIN.length() + 1;
        return text.substring(0, from) + block + text.substring(e);
    }
}
