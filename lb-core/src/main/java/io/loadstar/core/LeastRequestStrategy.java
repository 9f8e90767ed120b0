package io.loadstar.core;

import io.loadstar.api.EndpointView;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.api.SelectionContext;
import java.util.List;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: power of k choices without replacement (Mitzenmacher; Envoy's least_request). k
 * distinct endpoints are drawn in proportion to their weights (uniformly when the weights are equal;
 * Vose's alias method otherwise, as Finagle draws its P2C candidates) and the one with the lowest
 * inFlight^bias / weight wins, ties going to the first drawn. So idle endpoints are picked in
 * proportion to their weights (the first drawn wins every tie at 0 in flight), and under load the
 * in-flight counts settle in proportion to the weights. (Comparing weight / (inFlight + 1), as
 * Envoy's formula does, sends every idle pick to the heavier candidate: with weights 2 and 1 and one
 * call at a time, all of them to the first endpoint, and with the near-equal weights subsetting
 * balances with, a share that follows the weights' ranks instead of their values.) With bias 1 the
 * comparison is exact integer arithmetic, with no pow(); bias 0 ignores load (weighted random).
 * When n <= k every endpoint is compared (an exact scan from a drawn start), so two endpoints whose
 * in-flight differ always go to the less busy one. An excluded or at-limit candidate is skipped; if
 * none of the k is usable, every endpoint is scanned for the best usable one.
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
  boolean readsInFlight() {
    return true;
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
    private final int[] weights; // snapshot copy: no pointer chase to the Endpoint per candidate
    private final @Nullable WeightedDraw draw; // null when all weights are equal
    // The endpoints' exact counters, so a candidate costs one cache line (its counter), not two;
    // null when a view is not an lb-core endpoint state (a custom picker's test views).
    private final PaddedCounter @Nullable [] counters;

    LeastRequestPicker(List<EndpointView> ready, PerThread perThread, int choices, double bias) {
      super(ready);
      this.perThread = perThread;
      this.choices = choices;
      this.bias = bias;
      this.unitBias = bias == 1.0;
      this.weights = Schedules.weights(views);
      this.draw = WeightedDraw.of(weights);
      this.counters = counters(views);
    }

    private static PaddedCounter @Nullable [] counters(EndpointView[] views) {
      PaddedCounter[] counters = new PaddedCounter[views.length];
      for (int i = 0; i < views.length; i++) {
        PaddedCounter c =
            views[i] instanceof EndpointState ? ((EndpointState) views[i]).exactCounter() : null;
        if (c == null) {
          return null;
        }
        counters[i] = c;
      }
      return counters;
    }

    private int inFlight(int i) {
      PaddedCounter[] c = counters;
      return c != null ? c[i].get() : views[i].inFlight();
    }

    @Override
    public PickResult pick(PickContext context) {
      EndpointView[] v = views;
      int n = v.length;
      PerThread.State s = perThread.get();
      if (n <= choices || isHedge(context)) {
        return best(context, first(s, n), n);
      }
      int first;
      int best;
      if (choices == 2) {
        int a;
        int b;
        WeightedDraw d = draw;
        if (d == null) {
          // Two distinct indexes from one 64-bit draw: the second from n - 1, past the first.
          long r = PerThread.nextLong(s);
          a = (int) (((r >>> 32) * n) >>> 32);
          b = (int) (((r & 0xFFFFFFFFL) * (n - 1)) >>> 32);
          if (b >= a) {
            b++;
          }
        } else {
          a = d.draw(PerThread.nextLong(s));
          s.sample[0] = a;
          b = draw(s, s.sample, 1, n);
        }
        first = a;
        if (context.triedCount() == 0) {
          best = better(b, a) ? b : a;
        } else {
          boolean aUsable = !context.isTried(v[a].endpoint());
          boolean bUsable = !context.isTried(v[b].endpoint());
          best = aUsable && bUsable ? (better(b, a) ? b : a) : aUsable ? a : bUsable ? b : -1;
        }
      } else {
        int[] drawn = s.sample;
        best = -1;
        for (int c = 0; c < choices; c++) {
          int index = c == 0 ? first(s, n) : draw(s, drawn, c, n);
          drawn[c] = index;
          if (context.triedCount() != 0 && context.isTried(v[index].endpoint())) {
            continue;
          }
          if (best < 0 || better(index, best)) {
            best = index;
          }
        }
        first = drawn[0];
      }
      if (best >= 0) {
        PickResult r = v[best].tryAcquire();
        if (r != null) {
          return r;
        }
      }
      return best(context, first, n);
    }

    /** An index drawn by weight (uniformly when the weights are equal). */
    private int first(PerThread.State s, int n) {
      WeightedDraw d = draw;
      return d == null ? PerThread.nextInt(s, n) : d.draw(PerThread.nextLong(s));
    }

    /**
     * The {@code c}-th candidate, distinct from the {@code c} already drawn: by weight, and after a
     * few draws that all hit earlier candidates (a weight that dominates), uniformly.
     */
    private int draw(PerThread.State s, int[] drawn, int c, int n) {
      for (int attempt = 0; ; attempt++) {
        int index = attempt < 8 ? first(s, n) : PerThread.nextInt(s, n);
        boolean seen = false;
        for (int j = 0; j < c; j++) {
          seen |= drawn[j] == index;
        }
        if (!seen) {
          return index;
        }
      }
    }

    /**
     * Scans all endpoints from {@code start} and acquires the best usable one. If that one refuses
     * (it lost a race for its last slot, or it is held back: trial calls after an ejection, or an
     * ejection being decided), every endpoint is tried once in order: asking for the best again
     * would find the same one, since an endpoint held back has few calls in flight.
     */
    private PickResult best(PickContext context, int start, int n) {
      EndpointView[] v = views;
      int best = -1;
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
        if (best < 0 || better(index, best)) {
          best = index;
        }
      }
      if (best < 0) {
        return exhausted;
      }
      PickResult r = v[best].tryAcquire();
      return r != null ? r : scanFrom(start, context);
    }

    /**
     * With no more endpoints than choices every one is compared, so the least loaded is the pick
     * (among the tied, it is drawn); with more, two or more are drawn first: a draw among all.
     */
    @Override
    public PickPeek peek(PickContext context) {
      EndpointView[] v = views;
      int n = v.length;
      if (n > choices) {
        return super.peek(context);
      }
      List<io.loadstar.api.Endpoint> tied = new java.util.ArrayList<>();
      int best = -1;
      for (int i = 0; i < n; i++) {
        if (!PickPeek.available(v[i], context)) {
          continue;
        }
        if (best < 0 || better(i, best)) {
          best = i;
          tied.clear();
          tied.add(v[i].endpoint());
        } else if (!better(best, i)) {
          tied.add(v[i].endpoint());
        }
      }
      return PickPeek.among(tied);
    }

    /** True if endpoint a is less loaded than endpoint b: inFlight^bias / weight is lower. */
    private boolean better(int a, int b) {
      int inA = inFlight(a);
      int inB = inFlight(b);
      if (unitBias) {
        return (long) inA * weights[b] < (long) inB * weights[a];
      }
      if (bias == 0) {
        return false; // load ignored: the first drawn, by weight
      }
      return Math.pow(inA, bias) / weights[a] < Math.pow(inB, bias) / weights[b];
    }
  }
}
