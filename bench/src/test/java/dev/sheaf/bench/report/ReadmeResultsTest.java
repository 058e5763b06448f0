package dev.sheaf.bench.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The README's results table and chart, and the Javadoc overview, are what the committed sources
 * give: a change to the JSON or to the README's "How it works" without rerunning
 * {@link ReadmeResults} fails here (fix: the command in jmh-results/COMMANDS.md).
 */
class ReadmeResultsTest {

    private static Path root() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !(Files.exists(p.resolve("README.md")) && Files.isDirectory(p.resolve("jmh-results")))) {
            p = p.getParent();
        }
        assertTrue(p != null, "repository root not found");
        return p;
    }

    @Test
    void generatedFilesAreUpToDate() throws IOException {
        Path root = root();
        for (Map.Entry<String, String> e : ReadmeResults.expected(root).entrySet()) {
            Path file = root.resolve(e.getKey());
            assertTrue(Files.exists(file), e.getKey() + " missing: run the command in jmh-results/COMMANDS.md");
            assertEquals(e.getValue(), Files.readString(file, StandardCharsets.UTF_8),
                    e.getKey() + " is stale: run the command in jmh-results/COMMANDS.md");
        }
    }

    @Test
    void summaryHasEveryWorkloadWithSheafAndANativePeer() throws IOException {
        ResultsSummary s = ResultsSummary.load(root().resolve("jmh-results"));
        assertEquals(11, s.rows().size());
        for (SummaryRow r : s.rows()) {
            assertTrue(r.sheaf() != null && r.nativeBest() != null, r.toString());
            assertTrue(r.ratio() > 0, r.toString());
        }
    }

    @Test
    void ratioIsHowManyTimesBetterSheafIs() {
        SummaryRow time = new SummaryRow("pair", "ns/obj", false, new SummaryRow.Figure("sheaf-cache", 5),
                new SummaryRow.Figure("glibc", 10), null, null);
        SummaryRow rate = new SummaryRow("larson", "Mops/s", true, new SummaryRow.Figure("sheaf-cache", 5),
                new SummaryRow.Figure("glibc", 10), null, null);
        assertEquals("2.00x", time.ratioText());
        assertEquals("0.50x", rate.ratioText());
        String svg = RatioChart.svg(List.of(time, rate));
        assertTrue(svg.startsWith("<svg") && svg.contains(">2.00x<") && svg.contains(">0.50x<"), svg);
    }

    @Test
    void blockReplacementNeedsBothMarkers() {
        String text = "a\n" + ReadmeResults.BEGIN + "\nold\n" + ReadmeResults.END + "\nb\n";
        assertEquals("a\n" + ReadmeResults.BEGIN + "\nnew\n" + ReadmeResults.END + "\nb\n",
                ReadmeResults.replaceBlock(text, "new\n"));
        assertThrows(IllegalArgumentException.class, () -> ReadmeResults.replaceBlock("no markers", "x\n"));
    }

    @Test
    void jsonReaderReadsWhatTheResultsFilesHold() {
        Map<?, ?> m = (Map<?, ?>) JsonReader.read("{\"a\": [1, 2.5e1, \"x\\u0041\\n\"], \"b\": {\"c\": true, \"d\": null}}");
        assertEquals(List.of(1.0, 25.0, "xA\n"), m.get("a"));
        Map<?, ?> b = (Map<?, ?>) m.get("b");
        assertEquals(Boolean.TRUE, b.get("c"));
        assertTrue(b.containsKey("d") && b.get("d") == null);
        assertThrows(IllegalArgumentException.class, () -> JsonReader.read("{\"a\": 1,}"));
        assertThrows(IllegalArgumentException.class, () -> JsonReader.read("[1] 2"));
    }

    @Test
    void overviewIsWellFormedHtmlOfTheSection() {
        String readme = "# T\n\nIntro **line**.\n\n## How it works\n\nA `code` and **bold** [link](x.md).\n\n```\n<a> & b\n```\n\n- one\n  two\n- three\n\n## Next\n";
        String html = OverviewPage.html(readme);
        assertTrue(html.contains("<p>A <code>code</code> and <b>bold</b> link.</p>"), html);
        assertTrue(html.contains("<pre>&lt;a&gt; &amp; b\n</pre>"), html);
        assertTrue(html.contains("<ul>\n<li>one two</li>\n<li>three</li>\n</ul>"), html);
        assertTrue(html.contains("<p>Intro <b>line</b>.</p>\n<h1>How it works</h1>"), html);
        assertTrue(!html.contains("Next"), html);
    }
}
