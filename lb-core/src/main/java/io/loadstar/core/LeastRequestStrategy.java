package io.loadstar.core;

import io.loadstar.api.EndpointView;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.api.SelectionContext;
import java.util.List;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: power of k choices without replacement (Mitzenmacher; Envoy's least_request). k
 * distinct endpoints are sampled uniformly (rejection against the ones already drawn, k <= 10), the
 * one with the highest weight / (inFlight + 1)^bias wins, ties going to the first drawn (which is
 * random). With bias 1 the comparison is exact integer arithmetic, with no pow(). When n <= k
 * every endpoint is compared (an exact scan), so two endpoints whose in-flight differ always go to
 * the less busy one. An excluded or at-limit candidate is skipped; if none of the k is usable,
 * every endpoint is scanned for the best usable one.
 */
/** Least outstanding requests by power of k choices, weight-aware. Immutable. */
final class LeastRequestStrategy extends BuiltinStrategy {

  private final int choices;
  private final double bias;

  LeastRequestStrategy(int choices, double bias) {
    this.choices = choices;
    this.bias = bias;
  }

  @Override
  public PickerFactory newPickerFactory(SelectionContext context) {
    PerThread perThread = new PerThread(context.seed());
    return ready -> new LeastRequestPicker(ready, perThread, choices, bias);
  }

  @Override
  public String toString() {
    return "leastRequest(choices=" + choices + ", bias=" + bias + ")";
  }

  static final class LeastRequestPicker extends BasePicker {
    private final PerThread perThread;
    private final int choices;
    private final double bias;
    private final boolean unitBias;

    LeastRequestPicker(List<EndpointView> ready, PerThread perThread, int choices, double bias) {
      super(ready);
      this.perThread = perThread;
      this.choices = choices;
      this.bias = bias;
      this.unitBias = bias == 1.0;
    }

    @Override
    public PickResult pick(PickContext context) {
      EndpointView[] v = views;
      int n = v.length;
      if (n <= choices) {
        return best(context, PerThread.nextInt(perThread.get(), n), n);
      }
      PerThread.State s = perThread.get();
      int[] drawn = s.sample;
      EndpointView best = null;
      for (int c = 0; c < choices; c++) {
        int index;
        if (c == 0) {
          index = PerThread.nextInt(s, n);
        } else if (c == 1) {
          index = PerThread.nextInt(s, n - 1); // second draw without replacement, no rejection
          if (index >= drawn[0]) {
            index++;
          }
        } else {
          index = draw(s, drawn, c, n);
        }
        drawn[c] = index;
        EndpointView candidate = v[index];
        if (context.triedCount() != 0 && context.isTried(candidate.endpoint())) {
          continue;
        }
        if (best == null || better(candidate, best)) {
          best = candidate;
        }
      }
      if (best != null) {
        PickResult r = best.tryAcquire();
        if (r != null) {
          return r;
        }
      }
      return best(context, drawn[0], n);
    }

    private static int draw(PerThread.State s, int[] drawn, int c, int n) {
      while (true) {
        int index = PerThread.nextInt(s, n);
        boolean seen = false;
        for (int j = 0; j < c; j++) {
          seen |= drawn[j] == index;
        }
        if (!seen) {
          return index;
        }
      }
    }

    /** Scans all endpoints from {@code start} and acquires the best usable one. */
    private PickResult best(PickContext context, int start, int n) {
      EndpointView[] v = views;
      for (int attempt = 0; attempt < n; attempt++) {
        EndpointView best = null;
        for (int i = 0; i < n; i++) {
          int index = start + i;
          if (index >= n) {
            index -= n;
          }
          EndpointView candidate = v[index];
          if (context.triedCount() != 0 && context.isTried(candidate.endpoint())) {
            continue;
          }
          if (candidate instanceof EndpointState && ((EndpointState) candidate).atLimit()) {
            continue;
          }
          if (best == null || better(candidate, best)) {
            best = candidate;
          }
        }
        if (best == null) {
          return exhausted;
        }
        PickResult r = best.tryAcquire();
        if (r != null) {
          return r;
        }
        // Lost a race for its last slot: look again.
      }
      return exhausted;
    }

    private boolean better(EndpointView a, @Nullable EndpointView b) {
      if (b == null) {
        return true;
      }
      if (unitBias) {
        return (long) a.weight() * (b.inFlight() + 1L) > (long) b.weight() * (a.inFlight() + 1L);
      }
      return a.weight() / Math.pow(a.inFlight() + 1.0, bias)
          > b.weight() / Math.pow(b.inFlight() + 1.0, bias);
    }
  }
}
