package dev.sheaf.bench.harness;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/*
 * Implementation notes
 *
 * Algorithm: every candidate (a peer, a map) runs once per round, and rounds repeat the whole list
 * in the same order: A B C, A B C, ... A slow phase of a shared machine (another process, a GC, the
 * JIT still compiling in the first round) then falls on every candidate instead of on whichever ran
 * during it, and each candidate reports its median round; min and max show the spread.
 *
 * Invariants: the median is always a round that was run (with an even count, the upper of the two
 * middle rounds), so the figures, histograms and note reported with it belong to one run. Rounds
 * are kept in run order for notes; min and max come from a sorted copy. A candidate skipped in a
 * round (the round function returned null) is skipped in every later round.
 *
 * Threading: everything here runs on the caller's thread; the rounds themselves start and join
 * their own threads.
 *
 * Map: Round (one candidate's run in one round), interleave (the A B C, A B C loop),
 * Summary and summarize (median, min, max of one candidate's rounds), describe (rounds for a note).
 */

/**
 * Candidates measured in interleaved rounds and summarised by their median round with its spread:
 * the one place the harness and its experiments do this.
 */
public final class Rounds {
    /** Rounds per candidate when the command line does not say otherwise. */
    public static final int DEFAULT = 5;

    private Rounds() {
    }

    /**
     * One candidate's run in one round.
     *
     * @param <T> what a run measures
     */
    @FunctionalInterface
    public interface Round<T> {
        /**
         * Runs candidate {@code candidate} for round {@code round} (both from 0).
         *
         * @return the measurement, or {@code null} to skip this candidate from now on
         * @throws InterruptedException when the run is interrupted
         */
        T run(int candidate, int round) throws InterruptedException;
    }

    /**
     * Runs {@code rounds} rounds of {@code candidates} candidates, interleaved: round 0 of every
     * candidate in order, then round 1 of every candidate, and so on.
     *
     * @param <T>        what a run measures
     * @param candidates how many candidates
     * @param rounds     rounds per candidate, at least 1
     * @param round      runs one candidate once
     * @return per candidate (by index), its measurements in run order; empty for a candidate skipped
     *         from its first round
     * @throws IllegalArgumentException when {@code rounds < 1} or {@code candidates < 0}
     * @throws InterruptedException     when a run is interrupted
     */
    public static <T> List<List<T>> interleave(int candidates, int rounds, Round<T> round)
            throws InterruptedException {
        if (rounds < 1 || candidates < 0) {
            throw new IllegalArgumentException("need rounds >= 1 and candidates >= 0: " + rounds + ", " + candidates);
        }
        List<List<T>> all = new ArrayList<>();
        boolean[] skipped = new boolean[candidates];
        for (int i = 0; i < candidates; i++) {
            all.add(new ArrayList<>());
        }
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < candidates; i++) {
                if (skipped[i]) {
                    continue;
                }
                T t = round.run(i, r);
                if (t == null) {
                    skipped[i] = true;
                } else {
                    all.get(i).add(t);
                }
            }
        }
        return all;
    }

    /**
     * One candidate's rounds summarised.
     *
     * @param <T>    what a run measures
     * @param median the median round (by the metric; with an even count the upper middle one)
     * @param min    the smallest metric of any round
     * @param max    the largest metric of any round
     * @param values every round's metric, in run order
     */
    public record Summary<T>(T median, double min, double max, List<Double> values) {
        /** The number of rounds. */
        public int rounds() {
            return values.size();
        }
    }

    /**
     * Picks the median round of {@code runs} by {@code metric}, with the smallest and largest metric.
     *
     * @param <T>    what a run measures
     * @param runs   one candidate's rounds, in run order; not modified
     * @param metric the figure rounds are ranked by (e.g. operations per second)
     * @return the summary
     * @throws IllegalArgumentException when {@code runs} is empty
     */
    public static <T> Summary<T> summarize(List<T> runs, ToDoubleFunction<? super T> metric) {
        if (runs.isEmpty()) {
            throw new IllegalArgumentException("no rounds to summarise");
        }
        List<Double> values = new ArrayList<>(runs.size());
        for (T t : runs) {
            values.add(metric.applyAsDouble(t));
        }
        List<T> sorted = new ArrayList<>(runs);
        sorted.sort((a, b) -> Double.compare(metric.applyAsDouble(a), metric.applyAsDouble(b)));
        List<Double> sortedValues = new ArrayList<>(values);
        Collections.sort(sortedValues);
        return new Summary<>(sorted.get(sorted.size() / 2), sortedValues.get(0),
                sortedValues.get(sortedValues.size() - 1), List.copyOf(values));
    }

    /**
     * Every round's value for a note, in run order, each divided by {@code scale}: e.g.
     * {@code "12.1, 12.4, 11.9"}.
     *
     * @param values the rounds' values (a {@link Summary#values()})
     * @param scale  divisor (1e6 for millions)
     * @return the values, comma-separated, one decimal place (three below 10)
     */
    public static String describe(List<Double> values, double scale) {
        StringBuilder sb = new StringBuilder();
        for (double v : values) {
            double s = v / scale;
            sb.append(sb.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT, s < 10 ? "%.3f" : "%.1f", s));
        }
        return sb.toString();
    }
}
