package dev.sheaf.bench.report;


/** The README's results block: the summary as a Markdown table, its source line and the chart. */
public final class SummaryTable {

    private SummaryTable() {
    }

    /**
     * The Markdown between the README's results markers (without the markers).
     *
     * @param summary   the rows and the run they come from
     * @param chartPath the chart's path relative to the README
     * @return the block, ending with a newline
     */
    public static String markdown(ResultsSummary summary, String chartPath) {
        StringBuilder sb = new StringBuilder();
        sb.append("<!-- generated from jmh-results/").append(ResultsSummary.JMH_FILE).append(" and jmh-results/")
                .append(ResultsSummary.HARNESS_FILE).append(" by dev.sheaf.bench.report.ReadmeResults;")
                .append(" do not edit, rewrite with the command in jmh-results/COMMANDS.md -->\n");
        sb.append("| workload | unit | Sheaf | best native peer (FFM) | Netty | `Arena` | Sheaf vs best native |\n");
        sb.append("|---|---|---|---|---|---|---|\n");
        for (SummaryRow r : summary.rows()) {
            sb.append("| ").append(r.workload())
                    .append(" | ").append(r.unit())
                    .append(" | ").append(cell(r.sheaf()))
                    .append(" | ").append(cell(r.nativeBest()))
                    .append(" | ").append(cell(r.netty()))
                    .append(" | ").append(cell(r.arena()))
                    .append(" | ").append(r.ratioText()).append(" |\n");
        }
        sb.append('\n');
        sb.append("Quick comparison of ").append(summary.date()).append(" (").append(summary.machine())
                .append("; 64-byte objects for JMH, 8-1000 bytes for the harness). ns/obj: lower is better;")
                .append(" Mops/s: higher is better, each peer's median of interleaved rounds.")
                .append(" Each cell names the best variant of its group; the last column is how many times better")
                .append(" Sheaf is than the best native peer (below 1.00x the peer wins).")
                .append(" Every peer, the spread between rounds and the targets: [jmh-results/README.md](jmh-results/README.md).\n\n");
        sb.append("![Sheaf against the best native peer, per workload](").append(chartPath).append(")\n");
        return sb.toString();
    }

    private static String cell(SummaryRow.Figure f) {
        if (f == null) {
            return "-";
        }
        return Comparison.format(f.value()) + " (" + f.peer() + ")";
    }

}
