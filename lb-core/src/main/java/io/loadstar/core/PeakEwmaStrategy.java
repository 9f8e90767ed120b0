package io.loadstar.core;

import io.loadstar.api.EndpointView;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.api.SelectionContext;
import java.util.List;

/*
 * Design notes: Finagle's P2C + peak EWMA. Cost = latency estimate x (inFlight + 1) / weight, the
 * lower of two distinct random candidates wins. Costs are compared in the log2 domain on
 * PeakEwmaTracker's clock-free key (see its design notes), so a pick reads no clock and computes
 * no exp: log2(inFlight + 1) comes from a table for small counts and log2(weight) is precomputed
 * per snapshot.
 */
/** Latency-aware least loaded: power of two choices over peak-EWMA cost. Immutable. */
final class PeakEwmaStrategy extends BuiltinStrategy {

  private static final double[] LOG2_1P = new double[1024];

  static {
    for (int i = 0; i < LOG2_1P.length; i++) {
      LOG2_1P[i] = FastMath.log2(1 + i);
    }
  }

  private final PeakEwmaSettings settings;

  PeakEwmaStrategy(long decayNanos, long defaultRttNanos, long failurePenaltyNanos) {
    this.settings = new PeakEwmaSettings(decayNanos, defaultRttNanos, failurePenaltyNanos);
  }

  @Override
  PeakEwmaSettings latencyTracking() {
    return settings;
  }

  @Override
  boolean readsInFlight() {
    return true;
  }

  @Override
  public PickerFactory newPickerFactory(SelectionContext context) {
    PerThread perThread = new PerThread(context.seed());
    return ready -> new PeakEwmaPicker(ready, perThread);
  }

  @Override
  public String toString() {
    return "peakEwma(decay="
        + settings.decayNanos / 1_000_000
        + "ms, defaultRtt="
        + settings.defaultRttNanos / 1_000_000
        + "ms)";
  }

  static final class PeakEwmaPicker extends BasePicker {
    private final PerThread perThread;
    private final PaddedCounter[] cells; // in-flight count and latency key, one line each
    private final double[] log2Weight;

    PeakEwmaPicker(List<EndpointView> ready, PerThread perThread) {
      super(ready);
      this.perThread = perThread;
      this.cells = new PaddedCounter[views.length];
      this.log2Weight = new double[views.length];
      for (int i = 0; i < views.length; i++) {
        EndpointState state = views[i] instanceof EndpointState ? (EndpointState) views[i] : null;
        if (state == null || state.latency() == null || state.exactCounter() == null) {
          throw new IllegalArgumentException(
              "ready: " + views[i] + " (expected: endpoint state with latency tracking)");
        }
        cells[i] = state.exactCounter();
        log2Weight[i] = FastMath.log2(Math.max(1, views[i].weight()));
      }
    }

    private double cost(int i) {
      PaddedCounter cell = cells[i];
      int inFlight = cell.get();
      double log2p = inFlight < LOG2_1P.length ? LOG2_1P[inFlight] : FastMath.log2(1.0 + inFlight);
      return Double.longBitsToDouble(cell.ewmaKeyBits) + log2p - log2Weight[i];
    }

    /** The latency a call sent to endpoint {@code i} now is predicted to take: its cost. */
    private double predictedNanos(int i) {
      PeakEwmaTracker latency = ((EndpointState) views[i]).latency();
      return latency == null ? 0 : latency.estimateNanos() * (1 + cells[i].get());
    }

    @Override
    public PickResult pick(PickContext context) {
      int n = views.length;
      PerThread.State s = perThread.get();
      if (n == 1) {
        return scanFrom(0, context);
      }
      if (isHedge(context)) {
        return cheapest(context, PerThread.nextInt(s, n));
      }
      int a = PerThread.nextInt(s, n);
      int b = PerThread.nextInt(s, n - 1);
      if (b >= a) {
        b++;
      }
      boolean aUsable = context.triedCount() == 0 || !context.isTried(views[a].endpoint());
      boolean bUsable = context.triedCount() == 0 || !context.isTried(views[b].endpoint());
      int first = a;
      int second = b;
      if (aUsable && bUsable && cost(b) < cost(a)) {
        first = b;
        second = a;
      }
      if (aUsable && bUsable && context.timeBudgetNanos() != Long.MAX_VALUE) {
        // A deadline: the one predicted to answer in time, if only one is.
        long budget = context.timeBudgetNanos();
        if (predictedNanos(first) > budget && predictedNanos(second) <= budget) {
          int t = first;
          first = second;
          second = t;
        }
      } else if (!aUsable) {
        first = b;
        second = -1;
      } else if (!bUsable) {
        second = -1;
      }
      if (aUsable || bUsable) {
        PickResult r = views[first].tryAcquire();
        if (r == null && second >= 0) {
          r = views[second].tryAcquire();
        }
        if (r != null) {
          return r;
        }
      }
      return scanFrom(a, context);
    }

    /**
     * A hedge's pick: the endpoint of lowest cost not tried and below its in-flight limit, scanning
     * all from {@code start}.
     */
    private PickResult cheapest(PickContext context, int start) {
      int n = views.length;
      int best = -1;
      double bestCost = 0;
      for (int i = 0; i < n; i++) {
        int index = start + i < n ? start + i : start + i - n;
        if (context.isTried(views[index].endpoint()) || ((EndpointState) views[index]).atLimit()) {
          continue; // as least request's full scan: the best endpoint that can take the call
        }
        double c = cost(index);
        if (best < 0 || c < bestCost) {
          best = index;
          bestCost = c;
        }
      }
      PickResult r = best >= 0 ? views[best].tryAcquire() : null;
      return r != null ? r : scanFrom(start, context);
    }
  }
}
