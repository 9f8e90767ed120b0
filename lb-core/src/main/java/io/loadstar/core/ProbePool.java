package io.loadstar.core;

import io.loadstar.api.EndpointView;
import io.loadstar.api.KeyHash;
import io.loadstar.api.ProbeResult;
import io.loadstar.api.Ticker;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design notes: Prequal's probe pool, one per balancer. Slots hold immutable answers, one per
 * endpoint; a pick reads them (no lock, no allocation), counts its use of the answer it took with
 * one atomic add, and takes the answer out once its reuse budget is spent. Answers older than
 * maxAge are ignored by picks and replaced by the next probe.
 *
 * Refilling never costs a request thread a probe: a pick that finds the pool short sets a flag
 * (one CAS, only on the false->true edge, and only once the rate limit would let a probe go) and
 * hands the refill to the balancer's worker threads. The refill sends as many probes as the pool
 * lacks (one answer per endpoint, up to poolSize) to endpoints of the newest picker without a
 * fresh answer, within maxProbesPerSecond (a token bucket on the injected ticker), each bounded by
 * probeTimeout. An answer on its last use counts as lacking, so that its endpoint's next answer is
 * on its way before the last use is taken. Answers arrive on the prober's threads and replace
 * their endpoint's older answer, else take an empty slot, else the oldest answer's.
 *
 * Probes that fail FAILING_AFTER times in a row (no responder, say) put the pool in the failing
 * state, logged once: picks fall back to least request while the pool is short, and probes go out
 * at 2 per second only, enough to notice answers. The next answer ends it, logged once too. An
 * endpoint whose probe failed is left out of refills for a second, so that one endpoint without a
 * responder among answering ones is not probed in their place, nor puts the pool in that state.
 */
/** The probe answers of one balancer and the refills that keep it fresh. Thread-safe. */
final class ProbePool {

  private static final Logger logger = LoggerFactory.getLogger(ProbePool.class);

  /** One endpoint's answer, and how many picks it has served. */
  static final class Answer {
    final EndpointView view;

    /** The others' requests in flight: the count the endpoint answered, less this balancer's. */
    final int requestsInFlight;

    final long latencyNanos;
    final long receivedNanos;
    final AtomicInteger uses = new AtomicInteger();

    Answer(EndpointView view, ProbeResult result, long receivedNanos, int own) {
      this.view = view;
      this.requestsInFlight = Math.max(0, result.requestsInFlight() - own);
      this.latencyNanos = result.latencyNanos();
      this.receivedNanos = receivedNanos;
    }
  }

  /** How long picks wait before asking for a refill that found nothing to send. */
  static final long REFILL_PAUSE_NANOS = 1_000_000L;

  /** How long an endpoint whose probe failed is left out of refills. */
  static final long FAILED_REST_NANOS = 1_000_000_000L;

  /** How many probes in a row must fail for the pool to count as failing. */
  static final int FAILING_AFTER = 3;

  /** The probe rate while probes fail. */
  static final int FAILING_PROBES_PER_SECOND = 2;

  private final String service;
  private final ProbingConfig config;
  private final Ticker ticker;
  private final Supplier<Executor> executor;
  private final AtomicReferenceArray<@Nullable Answer> slots;
  private final AtomicBoolean refillQueued = new AtomicBoolean();
  private final AtomicInteger outstanding = new AtomicInteger();
  private final Runnable refill = this::refill;
  private final LongAdder sent = new LongAdder();
  private final LongAdder failed = new LongAdder();
  private final AtomicInteger failedInARow = new AtomicInteger();
  private final Map<EndpointView, Long> failedAt = new ConcurrentHashMap<>(); // last failed probe
  private volatile EndpointView[] targets = new EndpointView[0];
  private volatile int hotThreshold = Integer.MAX_VALUE;
  private volatile long earliestRefill;
  // Token bucket, refill thread only (refills run one at a time).
  private double tokens;
  private long tokensAt;
  private long draws;

  ProbePool(String service, ProbingConfig config, Ticker ticker, Supplier<Executor> executor) {
    this.service = service;
    this.config = config;
    this.ticker = ticker;
    this.executor = executor;
    this.slots = new AtomicReferenceArray<>(config.poolSize());
    this.tokens = Math.min(config.poolSize(), config.maxProbesPerSecond());
    this.tokensAt = ticker.nanoTime();
    this.earliestRefill = tokensAt;
  }

  int size() {
    return slots.length();
  }

  @Nullable Answer get(int slot) {
    return slots.get(slot);
  }

  long maxAgeNanos() {
    return config.maxAgeNanos();
  }

  /** The endpoints new probes go to: the newest picker's. */
  void target(EndpointView[] views) {
    targets = views;
  }

  /**
   * Counts a pick's use of the answer in {@code slot}; the answer leaves the pool once its budget
   * is spent, and the pool is refilled.
   */
  void used(int slot, Answer answer, long now) {
    int uses = answer.uses.incrementAndGet();
    if (uses >= config.reuseBudget()) {
      slots.compareAndSet(slot, answer, null);
      refillSoon(now);
    } else if (uses == config.reuseBudget() - 1) {
      refillSoon(now); // one use left: its successor is probed now, to arrive before it is needed
    }
  }

  /** Whether {@code a} is fresh at {@code now} and has more than its last use left. */
  private boolean lasting(@Nullable Answer a, long now) {
    return a != null
        && now - a.receivedNanos <= config.maxAgeNanos()
        && (config.reuseBudget() == 1 || a.uses.get() < config.reuseBudget() - 1);
  }

  /**
   * Asks for a refill on the worker threads, unless one is queued already or the rate limit allows
   * no probe before {@code earliestRefill}: a pick pays a volatile read, and a task submission only
   * when a refill can send something.
   */
  void refillSoon(long now) {
    if (now - earliestRefill >= 0
        && !refillQueued.get()
        && refillQueued.compareAndSet(false, true)) {
      try {
        executor.get().execute(refill);
      } catch (RejectedExecutionException | IllegalStateException e) {
        refillQueued.set(false); // the balancer is closing: picks fall back meanwhile
      }
    }
  }

  /** Sends the probes the pool lacks, within the rate limit. Worker threads, one at a time. */
  private synchronized void refill() {
    refillQueued.set(false);
    EndpointView[] views = targets;
    if (views.length == 0) {
      return;
    }
    long now = ticker.nanoTime();
    // Endpoints whose last probe failed rest a while: not probed again, not counted as lacking.
    Set<EndpointView> skip = Collections.newSetFromMap(new IdentityHashMap<>());
    for (Iterator<Map.Entry<EndpointView, Long>> it = failedAt.entrySet().iterator();
        it.hasNext(); ) {
      Map.Entry<EndpointView, Long> f = it.next();
      if (now - f.getValue() < FAILED_REST_NANOS) {
        skip.add(f.getKey());
      } else {
        it.remove();
      }
    }
    int lacking =
        Math.min(config.poolSize(), views.length - skip.size()) - fresh(now) - outstanding.get();
    // While probes fail (no responder yet, say), a trickle: enough to notice when they answer.
    double rate =
        failedInARow.get() >= FAILING_AFTER
            ? Math.min(FAILING_PROBES_PER_SECOND, config.maxProbesPerSecond())
            : config.maxProbesPerSecond();
    tokens = Math.min(config.poolSize(), tokens + (now - tokensAt) / 1e9 * rate);
    tokensAt = now;
    int send = (int) Math.min(lacking, Math.floor(tokens));
    // No refill is worth asking for before a token is due, or, with nothing lacking (probes on
    // their way), before one of them answers (each answer lets picks ask again) or 1 ms passed.
    double after = tokens - Math.max(0, send);
    if (after < 1) {
      earliestRefill = now + (long) Math.ceil((1 - after) / rate * 1e9);
    } else {
      earliestRefill = send <= 0 ? now + REFILL_PAUSE_NANOS : now;
    }
    if (send <= 0) {
      return;
    }
    for (int i = 0; i < slots.length(); i++) {
      Answer a = slots.get(i);
      if (lasting(a, now)) {
        skip.add(a.view);
      }
    }
    for (int i = 0; i < send; i++) {
      tokens -= 1;
      EndpointView view = unanswered(views, skip);
      skip.add(view);
      probe(view);
    }
  }

  /** A random endpoint of {@code views} without a fresh answer, if a few draws find one. */
  private EndpointView unanswered(EndpointView[] views, Set<EndpointView> answered) {
    EndpointView view = null;
    for (int tries = 0; tries < 8 && (view == null || answered.contains(view)); tries++) {
      view = views[(int) Math.floorMod(KeyHash.fmix64(++draws), (long) views.length)];
    }
    if (answered.contains(view) && answered.size() < views.length) {
      for (EndpointView v : views) { // few are left: take the first of them
        if (!answered.contains(v)) {
          return v;
        }
      }
    }
    return view;
  }

  private void probe(EndpointView view) {
    int ownAtSend = view.inFlight();
    outstanding.incrementAndGet();
    sent.increment();
    CompletableFuture<ProbeResult> answer;
    try {
      answer =
          config
              .prober()
              .probe(view.endpoint())
              .toCompletableFuture()
              .orTimeout(config.probeTimeoutNanos(), TimeUnit.NANOSECONDS);
    } catch (RuntimeException e) {
      answer = CompletableFuture.failedFuture(e);
    }
    answer.whenComplete(
        (result, error) -> {
          outstanding.decrementAndGet();
          earliestRefill = ticker.nanoTime(); // picks may ask for the next refill at once
          if (result != null) {
            failedAt.remove(view);
            // The count the endpoint answered includes this balancer's own calls there, which a
            // pick counts exactly as they are then: the answer keeps the others'. Which of its
            // own calls the endpoint counted is not known; those out at either end are.
            int own = Math.max(ownAtSend, view.inFlight());
            put(new Answer(view, result, ticker.nanoTime(), own));
            if (failedInARow.getAndSet(0) >= FAILING_AFTER) {
              logger.info("[{}] probing: {} answered; picking by probes", service, view.endpoint());
            }
          } else {
            failed.increment();
            failedAt.put(view, ticker.nanoTime());
            if (failedInARow.incrementAndGet() == FAILING_AFTER) {
              logger.warn(
                  "[{}] probing: {} probes in a row failed, the last to {} ({}); picking by least"
                      + " request while fewer than {} answers are fresh, probing 2 a second",
                  service,
                  FAILING_AFTER,
                  service,
                  view.endpoint(),
                  error,
                  config.minFreshProbes());
            }
          }
        });
  }

  /**
   * The requests in flight above which an answer is hot: at or above the rifQuantile of the pool's
   * fresh answers (one per endpoint) when the last answer arrived; none while that quantile is also
   * their least (all alike).
   */
  int hotThreshold() {
    return hotThreshold;
  }

  /** Takes the hot threshold over the pool's fresh answers; as each answer arrives. */
  private synchronized void rethreshold(long now) {
    int[] rifs = new int[slots.length()];
    int n = 0;
    for (int i = 0; i < slots.length(); i++) {
      Answer a = slots.get(i);
      if (a != null && now - a.receivedNanos <= config.maxAgeNanos()) {
        rifs[n++] = a.requestsInFlight;
      }
    }
    if (n == 0) {
      hotThreshold = Integer.MAX_VALUE;
      return;
    }
    Arrays.sort(rifs, 0, n);
    int quantile = rifs[Math.max(0, (int) Math.ceil(config.rifQuantile() * n) - 1)];
    hotThreshold = quantile > rifs[0] ? quantile - 1 : Integer.MAX_VALUE;
  }

  /**
   * Puts an answer over its endpoint's older one (the pool holds one per endpoint), else in an
   * empty slot, else over the oldest.
   */
  private void put(Answer answer) {
    place(answer);
    rethreshold(answer.receivedNanos);
  }

  private void place(Answer answer) {
    long now = answer.receivedNanos;
    int oldest = 0;
    long oldestAge = -1;
    int empty = -1;
    for (int i = 0; i < slots.length(); i++) {
      Answer a = slots.get(i);
      if (a == null) {
        empty = empty < 0 ? i : empty;
        continue;
      }
      if (a.view == answer.view) {
        slots.set(i, answer);
        return;
      }
      long age = now - a.receivedNanos;
      if (age > oldestAge) {
        oldestAge = age;
        oldest = i;
      }
    }
    if (empty >= 0 && slots.compareAndSet(empty, null, answer)) {
      return;
    }
    slots.set(oldest, answer);
  }

  /** How many answers are fresh at {@code now} with more than their last use left. */
  int fresh(long now) {
    int n = 0;
    for (int i = 0; i < slots.length(); i++) {
      if (lasting(slots.get(i), now)) {
        n++;
      }
    }
    return n;
  }

  @Override
  public String toString() {
    return "ProbePool{" + service + ", sent=" + sent.sum() + ", failed=" + failed.sum() + '}';
  }
}
