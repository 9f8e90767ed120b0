package io.loadstar.samples;

import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/** What the story prints while it runs: each second's per-backend table, times, percentiles. */
final class StoryConsole {

  private StoryConsole() {}

  /**
   * Prints one row per backend: each client's 503s and service times since the last call, and how
   * Loadstar sees it; {@code lastErrors} holds the counts at the last call and is updated.
   */
  static void backendTable(
      PrintStream out, List<StoryBackend> backends, LoadBalancer lb, int[][] lastErrors) {
    out.println(
        "      backend   | plain: 503s  service p50 / p99   | loadstar: 503s  service p50 / p99"
            + "   in-flight | loadstar sees");
    for (int b = 0; b < backends.size(); b++) {
      StoryBackend backend = backends.get(b);
      StringBuilder row =
          new StringBuilder(
              String.format(
                  Locale.ROOT, "      %-9s", backend.address.getAddress().getHostAddress()));
      for (int c = 0; c < 2; c++) {
        int errors = backend.errors[c].get();
        List<Long> times = backend.drainServiceTimes(c);
        row.append(
            String.format(
                Locale.ROOT,
                " | %11d %9s / %-9s",
                errors - lastErrors[b][c],
                times.isEmpty() ? "-" : time(percentile(times, 0.50)),
                times.isEmpty() ? "-" : time(percentile(times, 0.99))));
        lastErrors[b][c] = errors;
      }
      EndpointSnapshot seen = null;
      for (EndpointSnapshot s : lb.inspect().snapshot()) {
        if (s.endpoint().host().equals(backend.address.getAddress().getHostAddress())) {
          seen = s;
        }
      }
      if (seen == null) {
        row.append(String.format(Locale.ROOT, "  %9s | not listed", "-"));
      } else {
        String reason = seen.reason().isEmpty() ? "" : " (" + seen.reason() + ")";
        row.append(
            String.format(Locale.ROOT, "  %9d | %s%s", seen.inFlight(), seen.state(), reason));
      }
      out.println(row);
    }
  }

  /** A duration given in milliseconds, in the unit that shows it: 42 µs, 3.1 ms, 300 ms. */
  static String time(double millis) {
    if (millis < 1) {
      return String.format(Locale.ROOT, "%.0f µs", millis * 1_000);
    }
    return millis < 10
        ? String.format(Locale.ROOT, "%.1f ms", millis)
        : String.format(Locale.ROOT, "%.0f ms", millis);
  }

  static double percentile(List<Long> nanos, double q) {
    if (nanos.isEmpty()) {
      return 0;
    }
    List<Long> sorted = new ArrayList<>(nanos);
    Collections.sort(sorted);
    int i = (int) Math.min(sorted.size() - 1, Math.ceil(q * sorted.size()) - 1);
    return sorted.get(Math.max(0, i)) / 1e6;
  }
}
