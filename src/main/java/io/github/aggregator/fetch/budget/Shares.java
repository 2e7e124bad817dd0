package io.github.aggregator.fetch.budget;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * How a budget's rate is shared among the sources that spend it, when their intervals together would need more.
 *
 * <ol>
 *   <li>Half the rate is shared evenly: every source gets up to that share as its floor, so none starves.
 *   <li>The rest goes first to the sources someone watches now (subscribed, or read lately), evenly among them
 *       (max-min fair: a source that wants less than its share leaves the difference to the others),
 *   <li>then whatever they leave to the other sources, the same way.
 * </ol>
 *
 * <p>A source's effective interval is the inverse of its share, never shorter than its own interval. Pure functions.
 */
final class Shares {
    private Shares() {}

    /** One source's wish: its own interval in milliseconds, and whether someone watches it now. */
    record Wish(String id, long intervalMillis, boolean watched) {}

    /**
     * The effective interval of each source, in milliseconds, so that together they send at most one request per
     * {@code spacingMillis}.
     */
    static Map<String, Long> intervals(long spacingMillis, List<Wish> wishes) {
        Map<String, Long> out = new HashMap<>();
        double capacity = 1.0 / Math.max(1, spacingMillis);
        double wanted = 0;
        for (Wish w : wishes) {
            wanted += 1.0 / w.intervalMillis();
        }
        if (wanted <= capacity || wishes.isEmpty()) {
            wishes.forEach(w -> out.put(w.id(), w.intervalMillis()));
            return out;
        }
        Map<String, Double> rate = new HashMap<>();
        double floor = capacity / 2 / wishes.size();
        double left = capacity;
        for (Wish w : wishes) {
            double r = Math.min(1.0 / w.intervalMillis(), floor);
            rate.put(w.id(), r);
            left -= r;
        }
        left = fill(wishes.stream().filter(Wish::watched).toList(), rate, left);
        fill(wishes.stream().filter(w -> !w.watched()).toList(), rate, left);
        for (Wish w : wishes) {
            // rounded up to the millisecond (less a hair of floating-point error): never faster than the share
            long effective = (long) Math.ceil(1.0 / rate.get(w.id()) - 1e-6);
            out.put(w.id(), Math.max(w.intervalMillis(), effective));
        }
        return out;
    }

    /** Shares {@code left} among {@code group} max-min fairly on top of what each has; returns what is left over. */
    private static double fill(List<Wish> group, Map<String, Double> rate, double left) {
        List<Wish> byNeed = new ArrayList<>(group);
        // those that want the least more come first: what they do not need passes on to the rest
        byNeed.sort(Comparator.comparingDouble(w -> 1.0 / w.intervalMillis() - rate.get(w.id())));
        for (int i = 0; i < byNeed.size() && left > 0; i++) {
            Wish w = byNeed.get(i);
            double need = 1.0 / w.intervalMillis() - rate.get(w.id());
            double share = left / (byNeed.size() - i);
            double given = Math.min(need, share);
            rate.put(w.id(), rate.get(w.id()) + given);
            left -= given;
        }
        return Math.max(0, left);
    }
}
