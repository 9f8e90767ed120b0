package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.Attempt;
import io.loadstar.api.AttemptLoop;
import io.loadstar.api.BalancedCall;
import io.loadstar.api.CallFailure;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.HealthCheckResult;
import io.loadstar.api.Hedging;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.api.RecentLatency;
import io.loadstar.api.RetryPolicy;
import io.loadstar.api.SelectionStrategy;
import io.loadstar.testing.Await;
import io.loadstar.testing.FakeTicker;
import io.loadstar.testing.ManualScheduler;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Hedged calls on the shared attempt loop, on the injected clock (from 0, days and negative
 * origins): when a hedge goes, where, what wins, what is reported, and when none goes. The driver
 * is a client whose every answer the test gives by hand, so each interleaving is chosen, not hoped
 * for.
 */
class HedgingTest {

  private static final long MS = 1_000_000L;
  private static final long DAY = 86_400_000 * MS;
  private static final RetryPolicy HEDGED =
      RetryPolicy.builder().hedging(Hedging.after(Duration.ofMillis(20))).build();

  private final List<AutoCloseable> closeables = new ArrayList<>();

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : closeables) {
      c.close();
    }
  }

  /**
   * A client whose attempts wait until the test answers them: {@link #answer}, {@link #fail}, or a
   * cancel from the loop. Each attempt's outcome is reported as a real driver would.
   */
  static final class HandDriver implements AttemptLoop.Driver<String, IOException> {
    final Map<Endpoint, CompletableFuture<String>> inFlight = new ConcurrentHashMap<>();
    final List<String> cancelled = new java.util.concurrent.CopyOnWriteArrayList<>();
    final List<String> discarded = new java.util.concurrent.CopyOnWriteArrayList<>();

    @Override
    public boolean hedges() {
      return true;
    }

    @Override
    public AttemptLoop.Step<String, IOException> send(Attempt attempt) {
      CompletableFuture<String> answer = new CompletableFuture<>();
      inFlight.put(attempt.endpoint(), answer);
      try {
        String body = answer.get();
        attempt.succeeded(attempt.elapsedNanos());
        return AttemptLoop.Step.done(body);
      } catch (ExecutionException e) {
        IOException io = new IOException(e.getCause().getMessage());
        return AttemptLoop.Step.failed(
            io, attempt.failed(CallFailure.possiblyProcessed(io), attempt.elapsedNanos()));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        attempt.cancelled();
        return AttemptLoop.Step.done(null);
      } finally {
        inFlight.remove(attempt.endpoint(), answer);
      }
    }

    @Override
    public void cancel(Attempt attempt) {
      cancelled.add(attempt.endpoint().host());
      CompletableFuture<String> f = inFlight.get(attempt.endpoint());
      if (f != null) {
        f.completeExceptionally(new IOException("cancelled"));
      }
    }

    @Override
    public void discard(String answer) {
      discarded.add(answer);
    }

    @Override
    public IOException unavailable(String reason) {
      return new IOException("unavailable: " + reason);
    }

    @Override
    public IOException interrupted(InterruptedException e) {
      return new IOException("interrupted", e);
    }

    /** The endpoint of the one attempt in flight, once there is one (the others are answered). */
    Endpoint awaitInFlight(int count) {
      assertThat(Await.until(() -> inFlight.size() == count)).as("attempts in flight").isTrue();
      return inFlight.keySet().iterator().next();
    }

    Endpoint other(Endpoint than) {
      assertThat(Await.until(() -> inFlight.size() == 2)).as("the hedge in flight").isTrue();
      return inFlight.keySet().stream().filter(e -> !e.equals(than)).findFirst().orElseThrow();
    }

    void answer(Endpoint e, String body) {
      inFlight.get(e).complete(body);
    }

    void fail(Endpoint e, String why) {
      inFlight.get(e).completeExceptionally(new IOException(why));
    }
  }

  private LoadBalancer balancer(
      FakeTicker ticker, ManualScheduler scheduler, RetryPolicy policy, int endpoints) {
    return balancer(ticker, scheduler, policy, endpoints, Strategies.roundRobin());
  }

  private LoadBalancer balancer(
      FakeTicker ticker,
      ManualScheduler scheduler,
      RetryPolicy policy,
      int endpoints,
      SelectionStrategy strategy) {
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(TestEndpoints.endpoints(endpoints))
            .strategy(strategy)
            .ticker(ticker)
            .scheduler(scheduler)
            .outlierDetection(OutlierDetectionConfig.disabled())
            .retryPolicy(policy)
            .sleeper(new FakeSleeper(ticker))
            .build();
    closeables.add(lb);
    return lb;
  }

  /** Runs one call on the attempt loop, on a thread of its own. */
  private static CompletableFuture<String> call(
      LoadBalancer lb, HandDriver driver, boolean idempotent) {
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            return AttemptLoop.run(
                lb.newCall(PickContext.empty(), idempotent), Long.MAX_VALUE, driver);
          } catch (IOException e) {
            throw new java.util.concurrent.CompletionException(e);
          }
        });
  }

  /** A hedged call whose first attempt and hedge are both out, each waiting for the test. */
  private record Race(
      LoadBalancer lb,
      HandDriver driver,
      CompletableFuture<String> call,
      Endpoint first,
      Endpoint hedge) {}

  /** Starts a call on a fresh balancer of three, on a clock from {@code origin}, and hedges it. */
  private Race hedgedCall(long origin) {
    FakeTicker ticker = new FakeTicker(origin);
    ManualScheduler scheduler = new ManualScheduler(ticker);
    LoadBalancer lb = balancer(ticker, scheduler, HEDGED, 3);
    HandDriver driver = new HandDriver();
    CompletableFuture<String> call = call(lb, driver, true);
    Endpoint first = driver.awaitInFlight(1);
    scheduler.advance(Duration.ofMillis(20), Duration.ofMillis(1));
    return new Race(lb, driver, call, first, driver.other(first));
  }

  private static String result(CompletableFuture<String> call) throws Exception {
    return call.get(30, TimeUnit.SECONDS);
  }

  private static EndpointSnapshot snapshot(LoadBalancer lb, Endpoint e) {
    return TestEndpoints.snapshotOf(lb, e);
  }

  @ParameterizedTest
  @ValueSource(longs = {0, 3 * DAY, -3 * DAY})
  void aSlowFirstAttempt_isHedgedAfterTheDelay_andTheHedgesAnswerWins(long origin)
      throws Exception {
    FakeTicker ticker = new FakeTicker(origin);
    ManualScheduler scheduler = new ManualScheduler(ticker);
    LoadBalancer lb = balancer(ticker, scheduler, HEDGED, 3);
    HandDriver driver = new HandDriver();

    CompletableFuture<String> call = call(lb, driver, true);
    Endpoint slow = driver.awaitInFlight(1);
    scheduler.advance(Duration.ofMillis(19), Duration.ofMillis(1));
    assertThat(driver.inFlight).as("no hedge before the delay").hasSize(1);
    scheduler.advance(Duration.ofMillis(1), Duration.ofMillis(1));
    Endpoint hedge = driver.other(slow);
    driver.answer(hedge, "from the hedge");

    assertThat(result(call)).isEqualTo("from the hedge");
    assertThat(driver.cancelled).containsExactly(slow.host());
    assertThat(Await.until(() -> snapshot(lb, slow).inFlight() == 0)).isTrue();
    assertThat(snapshot(lb, slow).failures()).as("a cancelled attempt blames nobody").isZero();
    assertThat(snapshot(lb, hedge).successes()).isEqualTo(1);
    assertThat(lb.inspect().retryStats().hedges()).isEqualTo(1);
    assertThat(lb.inspect().retryStats().windowRetries()).as("charged to the budget").isEqualTo(1);
  }

  @Test
  void aFirstAttemptThatAnswersBeforeTheDelay_sendsNoHedge_andItsTimerGoes() throws Exception {
    FakeTicker ticker = new FakeTicker(0);
    ManualScheduler scheduler = new ManualScheduler(ticker);
    LoadBalancer lb = balancer(ticker, scheduler, HEDGED, 3);
    HandDriver driver = new HandDriver();
    int timers = scheduler.pendingTasks();

    CompletableFuture<String> call = call(lb, driver, true);
    Endpoint first = driver.awaitInFlight(1);
    assertThat(scheduler.pendingTasks()).as("the hedge's timer").isEqualTo(timers + 1);
    scheduler.advance(Duration.ofMillis(10), Duration.ofMillis(1));
    driver.answer(first, "first");

    assertThat(result(call)).isEqualTo("first");
    assertThat(scheduler.pendingTasks()).isEqualTo(timers);
    scheduler.advance(Duration.ofMillis(50), Duration.ofMillis(1));
    assertThat(driver.inFlight).isEmpty();
    assertThat(lb.inspect().retryStats().hedges()).isZero();
  }

  @Test
  void theFirstAnswerWins_evenAfterTheHedgeWentOut() throws Exception {
    Race race = hedgedCall(-3 * DAY);
    LoadBalancer lb = race.lb();
    HandDriver driver = race.driver();
    CompletableFuture<String> call = race.call();
    Endpoint first = race.first();
    Endpoint hedge = race.hedge();
    driver.answer(first, "first");

    assertThat(result(call)).isEqualTo("first");
    assertThat(driver.cancelled).containsExactly(hedge.host());
    assertThat(Await.until(() -> snapshot(lb, hedge).inFlight() == 0)).isTrue();
    assertThat(snapshot(lb, hedge).failures()).isZero();
  }

  @Test
  void aFailedFirstAttempt_waitsForTheHedge() throws Exception {
    Race race = hedgedCall(0);
    LoadBalancer lb = race.lb();
    HandDriver driver = race.driver();
    CompletableFuture<String> call = race.call();
    Endpoint first = race.first();
    Endpoint hedge = race.hedge();
    driver.fail(first, "reset");
    assertThat(Await.until(() -> driver.inFlight.size() == 1)).isTrue();
    assertThat(call).as("the hedge is still out").isNotDone();
    driver.answer(hedge, "hedge");

    assertThat(result(call)).isEqualTo("hedge");
    assertThat(snapshot(lb, first).failures()).as("it failed on its own").isEqualTo(1);
    assertThat(lb.inspect().retryStats().retries()).as("the hedge only").isEqualTo(1);
  }

  @Test
  void bothFail_theCallIsRetriedOnTheThirdEndpoint_withBothFailuresInTheLast() throws Exception {
    Race race = hedgedCall(3 * DAY);
    LoadBalancer lb = race.lb();
    HandDriver driver = race.driver();
    CompletableFuture<String> call = race.call();
    Endpoint first = race.first();
    Endpoint hedge = race.hedge();
    driver.fail(hedge, "hedge reset");
    assertThat(Await.until(() -> driver.inFlight.size() == 1)).isTrue();
    driver.fail(first, "first reset");
    // The hedge's failure decided a retry; it goes once the first attempt has ended too.
    assertThat(Await.until(() -> thirdInFlight(driver, first, hedge) != null)).isTrue();
    Endpoint third = thirdInFlight(driver, first, hedge);
    driver.fail(third, "third reset");

    assertThatThrownBy(() -> result(call))
        .hasCauseInstanceOf(IOException.class)
        .rootCause()
        .hasMessage("third reset");
    IOException last = (IOException) catchCause(call);
    assertThat(allMessages(last)).contains("hedge reset", "first reset");
    assertThat(lb.inspect().retryStats().retries()).isEqualTo(2);
    assertThat(lb.inspect().retryStats().hedges()).isEqualTo(1);
  }

  /** The one attempt in flight if it is neither {@code first} nor {@code hedge}, else null. */
  private static @Nullable Endpoint thirdInFlight(
      HandDriver driver, Endpoint first, Endpoint hedge) {
    List<Endpoint> now = List.copyOf(driver.inFlight.keySet());
    return now.size() == 1 && !now.contains(first) && !now.contains(hedge) ? now.get(0) : null;
  }

  private static Throwable catchCause(CompletableFuture<String> call) {
    try {
      call.join();
      throw new AssertionError("the call succeeded");
    } catch (java.util.concurrent.CompletionException e) {
      return e.getCause();
    }
  }

  private static List<String> allMessages(Throwable t) {
    List<String> messages = new ArrayList<>();
    messages.add(t.getMessage());
    for (Throwable s : t.getSuppressed()) {
      messages.addAll(allMessages(s));
    }
    return messages;
  }

  @Test
  void noHedge_forACallThatIsNotIdempotent_withOneEndpoint_orWithoutBudget() throws Exception {
    FakeTicker ticker = new FakeTicker(0);
    ManualScheduler scheduler = new ManualScheduler(ticker);

    LoadBalancer three = balancer(ticker, scheduler, HEDGED, 3);
    assertThat(three.inspect().recentLatency().hedgeDelay()).isEqualTo(Duration.ofMillis(20));
    assertThat(armed(three, false)).as("not idempotent").isFalse();
    BalancedCall post = three.newCall(PickContext.empty(), false);
    Attempt sent = post.first(0);
    Attempt refused = post.hedge();
    assertThat(refused.isAvailable()).as("a driver that asks anyway gets no hedge").isFalse();
    assertThat(refused.reason()).isEqualTo("the call is not hedged (not idempotent)");
    sent.cancelled();
    assertThat(armed(three, true)).isTrue();

    LoadBalancer one = balancer(ticker, scheduler, HEDGED, 1);
    assertThat(armed(one, true)).as("nowhere else to go").isFalse();

    RetryPolicy noBudget = HEDGED.toBuilder().budget(0, Duration.ofSeconds(10), 0).build();
    LoadBalancer broke = balancer(ticker, scheduler, noBudget, 3);
    assertThat(armed(broke, true)).isFalse();
    BalancedCall asked = broke.newCall(PickContext.empty(), true);
    Attempt out = asked.first(0);
    assertThat(asked.hedge().reason())
        .isEqualTo("the retry budget is spent, or hedges are at their share of the calls (5.0%)");
    out.cancelled();

    RetryPolicy once = HEDGED.toBuilder().maxAttempts(1).build();
    LoadBalancer single = balancer(ticker, scheduler, once, 3);
    assertThat(armed(single, true)).isFalse();
    assertThat(single.inspect().recentLatency()).isEqualTo(RecentLatency.NONE);
    RetryPolicy fixedOnly =
        HEDGED.toBuilder().attemptTimeout(io.loadstar.api.AttemptTimeout.none()).build();
    assertThat(balancer(ticker, scheduler, fixedOnly, 3).inspect().recentLatency())
        .as("nothing measured: the fixed delay is shown")
        .isEqualTo(new RecentLatency(0, null, null, null, null, Duration.ofMillis(20)));

    assertThat(armed(balancer(ticker, scheduler, RetryPolicy.defaults(), 3), true))
        .as("hedging is off by default")
        .isFalse();
  }

  /** Whether a call through {@code lb} arms a hedge; its attempt is then cancelled. */
  private static boolean armed(LoadBalancer lb, boolean idempotent) throws Exception {
    BalancedCall call = lb.newCall(PickContext.empty(), idempotent);
    Attempt first = call.first(0);
    boolean armed = call.scheduleHedge(() -> {});
    call.cancelHedge();
    first.cancelled();
    return armed;
  }

  @Test
  void noHedge_inPanic() throws Exception {
    FakeTicker ticker = new FakeTicker(0);
    ManualScheduler scheduler = new ManualScheduler(ticker);
    List<Endpoint> endpoints = TestEndpoints.endpoints(5);
    HealthCheckService checks =
        TestEndpoints.inlineChecks(
            (target, timeout) ->
                target.host().equals("10.0.0.1") || target.host().equals("10.0.0.2")
                    ? HealthCheckResult.healthy()
                    : HealthCheckResult.unhealthy("down"),
            HealthCheckConfig.builder().fall(1).jitter(0).build(),
            scheduler);
    closeables.add(checks);
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(endpoints)
            .healthChecks(checks)
            .ticker(ticker)
            .scheduler(scheduler)
            .retryPolicy(HEDGED)
            .build();
    closeables.add(lb);
    scheduler.runDueTasks();
    assertThat(lb.inspect().snapshot())
        .filteredOn(s -> s.state() == EndpointSnapshot.State.READY)
        .hasSize(2); // 2 of 5 usable: below the 50% threshold
    BalancedCall call = lb.newCall(PickContext.empty(), true);
    Attempt first = call.first(0);
    assertThat(call.scheduleHedge(() -> {})).isFalse();
    first.cancelled();
  }

  @Test
  void aHedgeTakenAfterTheFirstAttemptWasReported_isUnavailable_andCostsNothing() throws Exception {
    FakeTicker ticker = new FakeTicker(0);
    ManualScheduler scheduler = new ManualScheduler(ticker);
    LoadBalancer lb = balancer(ticker, scheduler, HEDGED, 3);
    BalancedCall call = lb.newCall(PickContext.empty(), true);
    Attempt first = call.first(0);
    List<Attempt> hedges = new java.util.concurrent.CopyOnWriteArrayList<>();
    assertThat(call.scheduleHedge(() -> hedges.add(call.hedge()))).isTrue();
    first.failed(CallFailure.notSent(new IOException("refused")), 0);
    scheduler.advance(Duration.ofMillis(20), Duration.ofMillis(1));
    assertThat(Await.until(() -> hedges.size() == 1)).isTrue();
    assertThat(hedges.get(0).isAvailable()).isFalse();
    assertThat(hedges.get(0).reason()).isEqualTo("the first attempt was reported");
    assertThat(lb.inspect().retryStats().hedges()).isZero();
    assertThatThrownBy(call::hedge).isInstanceOf(IllegalStateException.class);
    call.next().cancelled();
  }

  @ParameterizedTest
  @ValueSource(strings = {"leastRequest", "peakEwma"})
  void aHedge_goesToTheLeastLoadedEndpoint_comparingAllNotTwo(String strategy) throws Exception {
    for (long origin : new long[] {0, 3 * DAY, -3 * DAY}) {
      FakeTicker ticker = new FakeTicker(origin);
      ManualScheduler scheduler = new ManualScheduler(ticker);
      LoadBalancer lb =
          balancer(
              ticker,
              scheduler,
              HEDGED,
              6,
              strategy.equals("peakEwma") ? Strategies.peakEwma() : Strategies.leastRequest());
      List<Endpoint> all = TestEndpoints.endpoints(6);
      for (int round = 0; round < 10; round++) {
        BalancedCall call = lb.newCall(PickContext.empty(), true);
        Attempt first = call.first(0);
        // Every endpoint but the first's and one other gets two calls: the other is the idlest.
        Endpoint idle = all.get((all.indexOf(first.endpoint()) + 1 + round % 5) % 6);
        List<PickResult> held = new ArrayList<>();
        for (Endpoint e : all) {
          if (e.equals(first.endpoint()) || e.equals(idle)) {
            continue;
          }
          PickContext.Builder only = PickContext.builder();
          all.stream().filter(x -> !x.equals(e)).forEach(only::tried);
          held.add(lb.pick(only.build()));
          held.add(lb.pick(only.build()));
        }
        List<Attempt> hedges = new java.util.concurrent.CopyOnWriteArrayList<>();
        assertThat(call.scheduleHedge(() -> hedges.add(call.hedge()))).isTrue();
        scheduler.advance(Duration.ofMillis(20), Duration.ofMillis(1));
        assertThat(Await.until(() -> hedges.size() == 1)).isTrue();
        Attempt hedge = hedges.get(0);
        assertThat(hedge.isAvailable()).isTrue();
        assertThat(hedge.endpoint()).as("round %d", round).isEqualTo(idle);
        hedge.succeeded(0);
        first.overtaken(0);
        for (PickResult r : held) {
          r.handle().onCancel();
        }
      }
    }
  }

  @Test
  void peakEwmasHedge_skipsAnEndpointAtItsLimit_forTheNextCheapest() throws Exception {
    FakeTicker ticker = new FakeTicker(0);
    ManualScheduler scheduler = new ManualScheduler(ticker);
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(TestEndpoints.endpoints(4))
            .strategy(Strategies.peakEwma())
            .maxInFlightPerEndpoint(1)
            .ticker(ticker)
            .scheduler(scheduler)
            .outlierDetection(OutlierDetectionConfig.disabled())
            .retryPolicy(HEDGED)
            .sleeper(new FakeSleeper(ticker))
            .build();
    closeables.add(lb);
    List<Endpoint> all = TestEndpoints.endpoints(4);
    // Latencies measured, each a peak above the 10 ms default (taken at once): endpoint 1 at 20
    // ms, 2 at 400 ms, 3 at 50 ms; 0, where the calls start, at 100 ms. With its one call, 1 costs
    // 40 ms, still the least, but it cannot take another.
    long[] latency = {100 * MS, 20 * MS, 400 * MS, 50 * MS};
    for (int i = 0; i < 4; i++) {
      PickContext.Builder only = PickContext.builder();
      for (Endpoint e : all) {
        if (!e.equals(all.get(i))) {
          only.tried(e);
        }
      }
      lb.pick(only.build()).handle().onSuccess(latency[i]);
    }
    for (int round = 0; round < 10; round++) {
      // Endpoints 1 to 3 each hold a call (at the limit of one), so the call's first goes to 0;
      // then 2 and 3 are free again while 1, the cheapest, stays at its limit.
      List<PickResult> held = new ArrayList<>();
      for (int i = 1; i < 4; i++) {
        PickContext.Builder only = PickContext.builder();
        for (Endpoint e : all) {
          if (!e.equals(all.get(i))) {
            only.tried(e);
          }
        }
        held.add(lb.pick(only.build()));
      }
      BalancedCall call = lb.newCall(PickContext.empty(), true);
      Attempt first = call.first(0);
      assertThat(first.endpoint()).isEqualTo(all.get(0));
      held.get(1).handle().onCancel();
      held.get(2).handle().onCancel();
      List<Attempt> hedges = new java.util.concurrent.CopyOnWriteArrayList<>();
      assertThat(call.scheduleHedge(() -> hedges.add(call.hedge()))).isTrue();
      scheduler.advance(Duration.ofMillis(20), Duration.ofMillis(1));
      assertThat(Await.until(() -> hedges.size() == 1)).isTrue();
      assertThat(hedges.get(0).endpoint()).as("round %d", round).isEqualTo(all.get(3));
      hedges.get(0).succeeded(10 * MS);
      first.overtaken(0);
      held.get(0).handle().onCancel();
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {0, 3 * DAY, -3 * DAY})
  void adaptive_hedgesAtTheRecentP95_onceItIsKnown(long origin) throws Exception {
    FakeTicker ticker = new FakeTicker(origin);
    ManualScheduler scheduler = new ManualScheduler(ticker);
    RetryPolicy adaptive = RetryPolicy.builder().hedging(Hedging.adaptive()).build();
    LoadBalancer lb = balancer(ticker, scheduler, adaptive, 3);

    assertThat(lb.inspect().recentLatency().hedgeDelay()).isNull();
    assertThat(armed(lb, true)).as("no delay known yet").isFalse();

    // 95 calls of 10 ms and 5 of 300 ms: the p95 is in 10 ms's bucket.
    for (int i = 0; i < 100; i++) {
      lb.pick(PickContext.empty()).handle().onSuccess(i < 95 ? 10 * MS : 300 * MS);
    }
    scheduler.advance(Duration.ofSeconds(5), Duration.ofSeconds(1));
    RecentLatency recent = lb.inspect().recentLatency();
    assertThat(recent.hedgeDelay()).isEqualTo(recent.p95());
    assertThat(recent.hedgeDelay().toNanos()).isBetween(10 * MS, 12 * MS);

    HandDriver driver = new HandDriver();
    CompletableFuture<String> call = call(lb, driver, true);
    Endpoint first = driver.awaitInFlight(1);
    scheduler.advance(Duration.ofMillis(9), Duration.ofMillis(1));
    assertThat(driver.inFlight).hasSize(1);
    scheduler.advance(Duration.ofMillis(3), Duration.ofMillis(1));
    driver.answer(driver.other(first), "hedged at the p95");
    assertThat(result(call)).isEqualTo("hedged at the p95");
  }

  @ParameterizedTest
  @ValueSource(longs = {0, 3 * DAY, -3 * DAY})
  void anOvertakenAttempt_tellsPeakEwmaItsEndpointIsAtLeastThatSlow_andBlamesNothing(long origin) {
    FakeTicker ticker = new FakeTicker(origin);
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(TestEndpoints.endpoints(2))
            .strategy(Strategies.peakEwma())
            .ticker(ticker)
            .outlierDetection(OutlierDetectionConfig.disabled())
            .build();
    closeables.add(lb);
    for (int i = 0; i < 20; i++) {
      lb.pick(PickContext.empty()).handle().onSuccess(10 * MS); // both at about 10 ms
    }
    ticker.advance(Duration.ofSeconds(1));
    io.loadstar.api.PickResult slow = lb.pick(PickContext.empty());
    slow.handle().onOvertaken(500 * MS); // its hedge answered first, after half a second
    Map<String, Integer> picks = TestEndpoints.pickCounts(lb, 100);
    assertThat(picks).containsOnlyKeys(otherThan(slow.endpoint()).key());
    assertThat(snapshot(lb, slow.endpoint()).failures()).isZero();
    assertThat(snapshot(lb, slow.endpoint()).inFlight()).isZero();

    // An attempt overtaken sooner than its endpoint's estimate says nothing new.
    io.loadstar.api.PickResult quick = lb.pick(PickContext.empty());
    quick.handle().onOvertaken(MS);
    assertThat(TestEndpoints.pickCounts(lb, 100)).containsOnlyKeys(quick.endpoint().key());
  }

  @Test
  void overtakenAttempts_countInTheServicesLatency_atWhatTheyTookSoFar() {
    FakeTicker ticker = new FakeTicker(-3 * DAY);
    ManualScheduler scheduler = new ManualScheduler(ticker);
    LoadBalancer lb = balancer(ticker, scheduler, HEDGED, 3); // round robin: every one recorded
    for (int i = 0; i < 95; i++) {
      lb.pick(PickContext.empty()).handle().onSuccess(10 * MS);
    }
    for (int i = 0; i < 5; i++) {
      lb.pick(PickContext.empty()).handle().onOvertaken(400 * MS); // hedged, after 400 ms
    }
    scheduler.advance(Duration.ofSeconds(5), Duration.ofSeconds(1));
    RecentLatency recent = lb.inspect().recentLatency();
    assertThat(recent.samples()).isEqualTo(100);
    assertThat(recent.p99().toNanos())
        .as("the slowest attempts stay in the p99 the attempt timeout follows")
        .isBetween(400 * MS, 480 * MS);
  }

  private static Endpoint otherThan(Endpoint e) {
    return TestEndpoints.endpoints(2).stream().filter(x -> !x.equals(e)).findFirst().orElseThrow();
  }

  @Test
  void invalidHedging_isRefusedWithTheValueAndWhatIsAllowed() {
    assertThatThrownBy(() -> Hedging.after(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("hedging delay: PT0S (expected: PT0.001S..PT1M)");
    assertThatThrownBy(() -> Hedging.adaptive(0.2, Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("hedging quantile: 0.2 (expected: 0.5..0.999");
    assertThat(Hedging.adaptive().quantile()).isEqualTo(0.95);
    assertThat(Hedging.off().isEnabled()).isFalse();
    assertThat(RetryPolicy.defaults().hedging()).isEqualTo(Hedging.off());
    assertThat(HEDGED.toBuilder().build()).isEqualTo(HEDGED);
    assertThat(HEDGED.toString()).contains("hedging=Hedging{after PT0.02S}");
  }
}
