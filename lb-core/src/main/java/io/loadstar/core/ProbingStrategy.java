package io.loadstar.core;

import io.loadstar.api.EndpointView;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.api.SelectionContext;
import io.loadstar.api.Ticker;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/*
 * Design notes: Prequal's selection (NSDI 2024, section 3). Each pick reads the balancer's probe
 * pool (ProbePool), which keeps one answer per endpoint, its newest: the fresh answers from
 * endpoints of this picker's tier that the call has not tried. An answer serves at most
 * reuseBudget picks (so a burst does not pile onto one answer), then leaves the pool. An answer
 * whose requests in flight are at or above the rifQuantile of the pool's is hot (the pool takes
 * that threshold as each answer arrives, so picks do not sort; when the quantile is also the
 * least, all alike, none is). The pick
 * takes the cold answer with the lowest latency (with a time budget, the first one expected within
 * it), and if every answer is hot, the one with the fewest requests in flight. Fewer than
 * minFreshProbes fresh answers, or the chosen endpoint at its limit: least request decides, as it
 * does without a responder. A pick allocates nothing: the per-thread scratch array is made once per
 * thread, and the answers are read in place. A pick that finds the pool short asks for a refill,
 * which runs on the worker threads.
 *
 * An endpoint's answer counts this balancer's own calls there too, and those are known exactly and
 * at once: the pool keeps the others' count (the answer's, less the own calls out when the probe
 * went or came back) and a pick adds the own calls out now. Without that, the endpoint a call has
 * just gone to is probed (its answer was used) while that call is out, answers one request more
 * than it will have once the call ends, and looks hot to the next pick: a lone caller would be
 * turned away from its fastest endpoint every other call.
 *
 * A hedge is picked by least request's full scan over every endpoint not tried, not from the pool:
 * the call is already late, the balancer's own counts are exact now where an answer may be maxAge
 * old, and a hedge then uses up no answer. On tower's mix (TailLab) probing with hedging went from
 * p99.9 200.7 to 110.7 ms; on the ramp, p99 moved a few percent down or up by seed and load, and
 * p99.9 with it (lb-bench's README).
 */
/** Prequal's probing: hot-cold selection over asynchronously probed load. Immutable. */
final class ProbingStrategy extends BuiltinStrategy {

  private final ProbingConfig config;

  ProbingStrategy(ProbingConfig config) {
    this.config = config;
  }

  @Override
  boolean readsInFlight() {
    return true; // the fallback is least request
  }

  @Override
  public PickerFactory newPickerFactory(SelectionContext context) {
    BalancerContext core = core(context);
    ProbePool pool =
        new ProbePool(
            context.serviceName(),
            config,
            context.ticker(),
            config.executor() != null ? config::executor : core::workers);
    PerThread perThread = new PerThread(context.seed());
    ThreadLocal<int[]> scratch = ThreadLocal.withInitial(() -> new int[2 * config.poolSize()]);
    Ticker clock = context.ticker() == Ticker.system() ? CoarseClock.get() : context.ticker();
    return ready -> {
      ProbingPicker picker = new ProbingPicker(ready, config, pool, perThread, scratch, clock);
      pool.target(picker.views);
      return picker;
    };
  }

  @Override
  public String toString() {
    return "probing(" + config + ")";
  }

  static final class ProbingPicker extends BasePicker {
    private final ProbingConfig config;
    private final ProbePool pool;
    private final ThreadLocal<int[]> scratch;
    private final Ticker clock;
    private final LeastRequestStrategy.LeastRequestPicker fallback;
    private final Map<EndpointView, Integer> index = new IdentityHashMap<>();

    ProbingPicker(
        List<EndpointView> ready,
        ProbingConfig config,
        ProbePool pool,
        PerThread perThread,
        ThreadLocal<int[]> scratch,
        Ticker clock) {
      super(ready);
      this.config = config;
      this.pool = pool;
      this.scratch = scratch;
      this.clock = clock;
      this.fallback = new LeastRequestStrategy.LeastRequestPicker(ready, perThread, 2, 1.0);
      for (int i = 0; i < views.length; i++) {
        index.put(views[i], i);
      }
    }

    @Override
    public PickResult pick(PickContext context) {
      if (isHedge(context)) {
        return fallback.pick(context); // by own counts, scanning all not tried (design notes)
      }
      long now = clock.nanoTime();
      long maxAge = pool.maxAgeNanos();
      // [0, k): pool slots of usable answers; [size, size + k): their requests in flight
      int[] slots = scratch.get();
      int size = pool.size();
      int k = 0;
      int fresh = 0;
      for (int i = 0; i < size; i++) {
        ProbePool.Answer a = pool.get(i);
        if (a == null || now - a.receivedNanos > maxAge) {
          continue;
        }
        fresh++;
        if (!index.containsKey(a.view)
            || (context.triedCount() != 0 && context.isTried(a.view.endpoint()))) {
          continue; // another tier's, gone, ejected, or tried by this call
        }
        slots[k] = i;
        slots[size + k] = a.requestsInFlight + a.view.inFlight(); // the others', and ours now
        k++;
      }
      if (fresh < Math.min(size, views.length)) {
        pool.refillSoon(now); // volatile reads only, when a refill is queued or not yet due
      }
      if (k < config.minFreshProbes()) {
        return fallback.pick(context);
      }
      int threshold = pool.hotThreshold();
      int chosen = choose(slots, size, k, threshold, context.timeBudgetNanos());
      ProbePool.Answer answer = pool.get(slots[chosen]);
      if (answer != null) {
        PickResult r = answer.view.tryAcquire();
        if (r != null) {
          pool.used(slots[chosen], answer, now);
          return r;
        }
      }
      return fallback.pick(context); // at its limit, or replaced meanwhile
    }

    /**
     * The hot-cold rule over {@code k} answers: the index (into the scratch) of the cold answer of
     * lowest latency (the first within {@code budget}, if any is), else the hot one with the fewest
     * requests in flight.
     */
    private int choose(int[] slots, int size, int k, int threshold, long budget) {
      int best = -1;
      long bestLatency = Long.MAX_VALUE;
      int leastHot = -1;
      int leastRif = Integer.MAX_VALUE;
      for (int j = 0; j < k; j++) {
        ProbePool.Answer a = pool.get(slots[j]);
        if (a == null) {
          continue;
        }
        int rif = slots[size + j];
        if (rif > threshold) {
          if (rif < leastRif) {
            leastRif = rif;
            leastHot = j;
          }
          continue;
        }
        long latency = a.latencyNanos;
        boolean inTime = latency <= budget;
        boolean bestInTime = bestLatency <= budget;
        if (best < 0
            || (inTime && !bestInTime)
            || (inTime == bestInTime && latency < bestLatency)) {
          best = j;
          bestLatency = latency;
        }
      }
      return best >= 0 ? best : Math.max(leastHot, 0);
    }
  }
}
