/**
 * Turns JMH and harness results into the comparison table, JSON files, charts and
 * {@code jmh-results/README.md}; {@link dev.sheaf.bench.report.Comparison} holds the issues'
 * targets and the ratios checked against them.
 */
package dev.sheaf.bench.report;
