package io.loadstar.okhttp;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.core.Affinity;
import io.loadstar.core.HealthCheckConfig;
import io.loadstar.core.HealthCheckService;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.OutlierDetectionConfig;
import io.loadstar.core.SplitControl;
import io.loadstar.core.Subsetting;
import io.loadstar.core.TcpHealthChecker;
import io.loadstar.core.TrafficSplit;
import io.loadstar.testing.Await;
import io.loadstar.testing.FakeTicker;
import io.loadstar.testing.HttpBackends;
import io.loadstar.testing.ManualScheduler;
import io.loadstar.testing.RecordingLbEventListener;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import mockwebserver3.MockResponse;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The features where they meet: every combination of outlier detection, TCP checks, HTTP checks, a
 * canary split, zones, sticky keys and subsetting (128), each with one backend of five dead,
 * answering 503, or 20 ms slow, through the OkHttp interceptor against real loopback servers. The
 * balancer runs on fake time (checks, ejections, the canary's timer); the calls are real.
 *
 * <p>The documented outcome, for each: no GET fails wherever the fault is detected (outlier
 * detection on, as by default; a dead backend under TCP or HTTP checks; a 503 backend under HTTP
 * checks; a canary that fails); where nothing can detect it, the only failed GETs are those whose
 * retries the budget refused. A detected backend takes no more calls once it is out; a slow one few
 * (least request), unless sticky keys hold it. A TCP check never lets a 503 backend back in. A
 * failing canary is rolled back and a stable backend's failure never rolls the canary back. Keys
 * not on the faulty backend never move. A subset widens past its faulty member.
 */
class FeatureMatrixTest {

  private static final int BACKENDS = 5;
  private static final int CANARY = 4; // 127.0.0.5
  private static final Duration STEP = Duration.ofMillis(100);
  private static final ExecutorService callers = Executors.newFixedThreadPool(4);

  enum Fault {
    DEAD,
    ANSWERS_503,
    SLOW
  }

  record Features(
      boolean outliers,
      boolean tcpChecks,
      boolean httpChecks,
      boolean canary,
      boolean zones,
      boolean sticky,
      boolean subsetting) {

    static Features of(int bits) {
      return new Features(
          (bits & 1) != 0,
          (bits & 2) != 0,
          (bits & 4) != 0,
          (bits & 8) != 0,
          (bits & 16) != 0,
          (bits & 32) != 0,
          (bits & 64) != 0);
    }

    @Override
    public String toString() {
      List<String> on = new ArrayList<>();
      if (outliers) {
        on.add("outliers");
      }
      if (tcpChecks) {
        on.add("tcp");
      }
      if (httpChecks) {
        on.add("http");
      }
      if (canary) {
        on.add("canary");
      }
      if (zones) {
        on.add("zones");
      }
      if (sticky) {
        on.add("sticky");
      }
      if (subsetting) {
        on.add("subset");
      }
      return on.isEmpty() ? "none" : String.join("+", on);
    }
  }

  static Stream<Arguments> matrix() {
    List<Arguments> out = new ArrayList<>();
    for (int bits = 0; bits < 128; bits++) {
      for (Fault fault : Fault.values()) {
        out.add(Arguments.of(Features.of(bits), fault));
      }
    }
    return out.stream();
  }

  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final OkHttpClient base = new OkHttpClient.Builder().build();
  private final Fault[] behaviour = new Fault[BACKENDS]; // null: healthy
  private final RecordingLbEventListener events = new RecordingLbEventListener();

  @AfterEach
  void tearDown() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
    base.connectionPool().evictAll();
  }

  @AfterAll
  static void stopCallers() {
    callers.shutdownNow();
  }

  @ParameterizedTest(name = "{0}, one backend {1}")
  @MethodSource("matrix")
  void theDocumentedOutcome(Features f, Fault fault) throws Exception {
    HttpBackends backends =
        HttpBackends.start(
            BACKENDS,
            s -> {},
            (i, r) -> {
              Fault b = behaviour[i];
              if (b == Fault.ANSWERS_503) {
                return new MockResponse.Builder().code(503).body("unavailable").build();
              }
              MockResponse.Builder ok = new MockResponse.Builder().body("backend-" + i);
              if (b == Fault.SLOW && !r.getUrl().encodedPath().equals("/health")) {
                ok.headersDelay(20, TimeUnit.MILLISECONDS);
              }
              return ok.build();
            });
    closeables.add(backends);
    FakeTicker ticker = new FakeTicker();
    ManualScheduler scheduler = new ManualScheduler(ticker);
    List<Endpoint> endpoints = new ArrayList<>();
    for (int i = 0; i < BACKENDS; i++) {
      Endpoint e = backends.endpoint(i).withZone(i < 2 ? "a" : "b");
      endpoints.add(i == CANARY ? e.withTag("version", "v2") : e.withTag("version", "v1"));
    }
    SplitControl canary =
        SplitControl.of(TrafficSplit.toTag("version", "v2").percent(20).rollbackOnErrors(5));
    LoadBalancers.Builder b =
        LoadBalancers.builder("svc")
            .endpoints(endpoints)
            .ticker(ticker)
            .scheduler(scheduler)
            .seed(7)
            .zone(f.zones() ? "a" : "")
            .outlierDetection(
                f.outliers()
                    ? OutlierDetectionConfig.defaults()
                    : OutlierDetectionConfig.disabled())
            .eventListener(events);
    HealthCheckConfig checks =
        HealthCheckConfig.builder()
            .interval(Duration.ofSeconds(1))
            .rise(2)
            .fall(2)
            .jitter(0)
            .build();
    if (f.tcpChecks() && f.httpChecks()) {
      // Both: a connect, then a request; either failing fails the probe.
      HttpHealthChecker http = http();
      io.loadstar.api.HealthChecker both =
          (target, timeout) -> {
            io.loadstar.api.HealthCheckResult tcp =
                TcpHealthChecker.create().check(target, timeout);
            return tcp.isHealthy() ? http.check(target, timeout) : tcp;
          };
      b.healthChecks(service(both, checks, scheduler));
    } else if (f.tcpChecks()) {
      b.healthChecks(service(TcpHealthChecker.create(), checks, scheduler));
    } else if (f.httpChecks()) {
      b.healthChecks(service(http(), checks, scheduler));
    }
    if (f.canary()) {
      b.trafficSplit(canary);
    }
    if (f.sticky()) {
      b.affinity(Affinity.returnImmediately());
    }
    if (f.subsetting()) {
      b.subsetting(Subsetting.size(3).instance(0, 2));
    }
    LoadBalancer lb = b.build();
    closeables.add(lb);
    LoadBalancingInterceptor.Builder ib =
        LoadBalancingInterceptor.builder().service("svc.test", lb);
    if (f.sticky()) {
      ib.hashKey(AffinityKeys.header("X-User"));
    }
    OkHttpClient client = ib.build().wrap(base);
    String url = "http://svc.test:" + backends.port() + "/";
    scheduler.runDueTasks(); // first probes

    // Warm-up: which backend serves most? The fault goes there (the canary, when there is one).
    Load load = new Load(client, url);
    closeables.add(load);
    Traffic warm = load.phase(ticker, scheduler, 8, backends);
    assertThat(warm.failed).as("failed before any fault").isZero();
    int target = f.canary() && isListed(lb, backends.endpoint(CANARY)) ? CANARY : warm.busiest();
    Endpoint faulty = backends.endpoint(target);
    Map<String, String> keysBefore = f.sticky() ? keyOwners(lb) : Map.of();
    int subsetBefore = lb.inspect().endpoints().size();
    List<String> listedBefore = lb.inspect().endpoints().stream().map(Endpoint::key).toList();
    Map<String, Integer> weightsBefore = weights(lb);

    if (fault == Fault.DEAD) {
      backends.server(target).close();
    } else {
      behaviour[target] = fault;
    }
    events.stateChanges.clear();
    long budgetRefusedBefore = lb.inspect().retryStats().refusedByBudget();
    Traffic first = load.phase(ticker, scheduler, 25, backends); // 2.5 s of fake time
    boolean targetIsCanary = target == CANARY && f.canary();
    boolean detected =
        f.outliers()
            || (fault == Fault.DEAD && (f.tcpChecks() || f.httpChecks()))
            || (fault == Fault.ANSWERS_503 && f.httpChecks())
            || (targetIsCanary && fault != Fault.SLOW);
    if (detected && fault != Fault.SLOW) {
      // Calls picked before the fault was detected may still be on their way back (the callers
      // go on meanwhile): count them with the first phase. Once detected, none are picked for it.
      Await.until(Duration.ofSeconds(5), () -> snapshotOf(lb, faulty).inFlight() == 0);
    }
    long failuresOnFaultyMid = failuresOf(lb, faulty);
    Traffic last = load.phase(ticker, scheduler, 15, backends); // 1.5 s more
    load.close();
    long failuresOnFaultyLate = failuresOf(lb, faulty) - failuresOnFaultyMid;
    long failed = first.failed + last.failed;

    String context = f + ", " + fault + " on " + faulty + ": " + lb.inspect().snapshot();

    // With outlier detection (the default) no GET fails, nor for a slow backend. Without it, the
    // only failed GETs are those whose retry the budget refused, and none once checks or a
    // rollback took the faulty backend out.
    if (fault == Fault.SLOW || f.outliers()) {
      assertThat(failed).as("failed GETs; %s", context).isZero();
    } else if (failed > 0) {
      assertThat(lb.inspect().retryStats().refusedByBudget() - budgetRefusedBefore)
          .as("failed GETs without a refused retry; %s", context)
          .isPositive();
    }
    if (detected) {
      assertThat(last.failed).as("failed GETs once detected; %s", context).isZero();
    }
    // Once out, a dead or 503 backend takes no more calls (a canary's calls end at its rollback).
    if (detected && fault != Fault.SLOW) {
      assertThat(failuresOnFaultyLate).as("late failures on the faulty; %s", context).isZero();
    }
    // A slow backend gets few calls with least request, unless sticky keys hold it.
    if (fault == Fault.SLOW && !f.sticky() && !targetIsCanary && hasPeer(lb, faulty, f.zones())) {
      assertThat(last.share(target))
          .as("share of the slow one; %s", context)
          .isLessThanOrEqualTo(0.15);
    }
    // A TCP check never lets a 503 backend back in; only the ejection's time could.
    boolean ejected =
        events.changesTo(EndpointSnapshot.State.EJECTED).stream()
            .anyMatch(c -> c.endpoint().equals(faulty));
    if (fault == Fault.ANSWERS_503 && f.tcpChecks() && !f.httpChecks() && ejected) {
      assertThat(state(lb, faulty)).as(context).isEqualTo(EndpointSnapshot.State.EJECTED);
      assertThat(events.changesTo(EndpointSnapshot.State.READY))
          .as("readmitted; %s", context)
          .noneMatch(c -> c.endpoint().equals(faulty));
    }
    if (fault == Fault.ANSWERS_503 && f.httpChecks() && !f.outliers()) {
      assertThat(snapshotOf(lb, faulty).reason()).as(context).contains("answered 503");
    }
    if (fault == Fault.DEAD && f.tcpChecks() && !f.httpChecks() && !f.outliers()) {
      assertThat(snapshotOf(lb, faulty).reason()).as(context).contains("connection refused");
    }
    // The canary is rolled back when it fails calls (5 are enough), never for a stable backend's
    // failures. (Checks may take it out before it fails any: then nothing needs rolling back.)
    if (f.canary()) {
      boolean rolledBack = !canary.rollbackReason().isEmpty();
      long canaryFailures = failuresOf(lb, backends.endpoint(CANARY));
      if (targetIsCanary && canaryFailures >= 5) {
        assertThat(rolledBack).as("rolled back; %s", context).isTrue();
      } else if (!targetIsCanary || canaryFailures == 0) {
        assertThat(rolledBack).as("not rolled back; %s", context).isFalse();
      }
    }
    // Keys not on the faulty backend stay where they were, or move to an endpoint a widened
    // subset added (a ring that gains a member gives it a share of everyone's keys).
    if (f.sticky()) {
      Map<String, String> keysAfter = keyOwners(lb);
      Map<String, Integer> weightsAfter = weights(lb);
      for (Map.Entry<String, String> k : keysBefore.entrySet()) {
        String now = keysAfter.get(k.getKey());
        if (!k.getValue().equals(faulty.key())
            && (!listedBefore.contains(now)
                || !weightsAfter.get(now).equals(weightsBefore.get(now))
                || !weightsAfter.get(k.getValue()).equals(weightsBefore.get(k.getValue())))) {
          continue; // to a member the subset added, or between members it weighted anew
        }
        if (!k.getValue().equals(faulty.key())) {
          assertThat(now).as("key %s; %s", k.getKey(), context).isEqualTo(k.getValue());
        }
      }
    }
    // A subset widens past a member that is out (unless it holds every endpoint already).
    if (f.subsetting() && fault != Fault.SLOW && isOut(lb, faulty)) {
      assertThat(lb.inspect().endpoints())
          .as(context)
          .hasSize(Math.min(BACKENDS, subsetBefore + 1));
    }
  }

  private HttpHealthChecker http() {
    return HttpHealthChecker.builder(base).path("/health").build();
  }

  private HealthCheckService service(
      io.loadstar.api.HealthChecker checker, HealthCheckConfig config, ManualScheduler scheduler) {
    HealthCheckService s =
        HealthCheckService.builder(checker)
            .config(config)
            .scheduler(scheduler)
            .probeExecutor(Runnable::run)
            .seed(1)
            .build();
    closeables.add(s);
    return s;
  }

  /** The calls of one phase, by backend. */
  private static final class Traffic {
    long failed;
    final int[] served = new int[BACKENDS];
    int total;

    int busiest() {
      int best = 0;
      for (int i = 1; i < BACKENDS; i++) {
        best = served[i] > served[best] ? i : best;
      }
      return best;
    }

    double share(int backend) {
      return total == 0 ? 0 : served[backend] / (double) total;
    }
  }

  /**
   * Four callers in a closed loop, each GET as soon as the last one ended (no barrier, so least
   * request sees a slow backend's calls pile up). Fake time is paced by completed calls: a step of
   * 100 ms passes every 8 calls, and the balancer's timers and probes run then.
   */
  private static final class Load implements AutoCloseable {
    private final java.util.concurrent.Semaphore completed = new java.util.concurrent.Semaphore(0);
    private final java.util.concurrent.atomic.AtomicLong failed =
        new java.util.concurrent.atomic.AtomicLong();
    private final List<Future<?>> loops = new ArrayList<>();
    private volatile boolean running = true;

    Load(OkHttpClient client, String url) {
      AtomicInteger user = new AtomicInteger();
      for (int c = 0; c < 4; c++) {
        loops.add(
            callers.submit(
                () -> {
                  while (running) {
                    Request request =
                        new Request.Builder()
                            .url(url)
                            .header("X-User", "user-" + Math.floorMod(user.getAndIncrement(), 40))
                            .build();
                    try (Response r = client.newCall(request).execute()) {
                      r.body().string();
                      if (r.code() != 200) {
                        failed.incrementAndGet();
                      }
                    } catch (IOException e) {
                      failed.incrementAndGet();
                    }
                    completed.release();
                  }
                  return null;
                }));
      }
    }

    Traffic phase(FakeTicker ticker, ManualScheduler scheduler, int steps, HttpBackends backends)
        throws InterruptedException {
      Traffic t = new Traffic();
      int[] before = backends.counts();
      long failedBefore = failed.get();
      for (int step = 0; step < steps; step++) {
        assertThat(completed.tryAcquire(8, 60, TimeUnit.SECONDS)).as("calls completing").isTrue();
        ticker.advance(STEP);
        scheduler.runDueTasks();
      }
      t.failed = failed.get() - failedBefore;
      int[] after = backends.counts();
      for (int i = 0; i < BACKENDS; i++) {
        t.served[i] = after[i] - before[i];
        t.total += t.served[i];
      }
      return t;
    }

    @Override
    public void close() throws Exception {
      running = false;
      for (Future<?> f : loops) {
        f.get(60, TimeUnit.SECONDS);
      }
    }
  }

  /** Where each of 40 users' keys goes now (peek: no call made). */
  private static Map<String, String> keyOwners(LoadBalancer lb) {
    Map<String, String> out = new HashMap<>();
    for (int u = 0; u < 40; u++) {
      String key = "user-" + u;
      lb.inspect()
          .peek(io.loadstar.api.PickContext.ofHashKey(key))
          .ifPresent(e -> out.put(key, e.key()));
    }
    return out;
  }

  private static Map<String, Integer> weights(LoadBalancer lb) {
    Map<String, Integer> out = new HashMap<>();
    lb.inspect().endpoints().forEach(e -> out.put(e.key(), e.weight()));
    return out;
  }

  private static boolean isListed(LoadBalancer lb, Endpoint e) {
    return lb.inspect().endpoints().stream().anyMatch(x -> x.key().equals(e.key()));
  }

  private static EndpointSnapshot snapshotOf(LoadBalancer lb, Endpoint e) {
    return lb.inspect().snapshot().stream()
        .filter(s -> s.endpoint().key().equals(e.key()))
        .findFirst()
        .orElseThrow(() -> new AssertionError(e + " not listed: " + lb.inspect().snapshot()));
  }

  private static EndpointSnapshot.State state(LoadBalancer lb, Endpoint e) {
    return snapshotOf(lb, e).state();
  }

  private static boolean isOut(LoadBalancer lb, Endpoint e) {
    if (!isListed(lb, e)) {
      return false;
    }
    EndpointSnapshot.State s = state(lb, e);
    return s == EndpointSnapshot.State.EJECTED || s == EndpointSnapshot.State.UNHEALTHY;
  }

  /**
   * Whether least request has another endpoint to prefer in the faulty one's group: one in its zone
   * when zones apply (zone routing keeps picks in a zone with capacity; slowness is not a lack of
   * capacity), any other otherwise.
   */
  private static boolean hasPeer(LoadBalancer lb, Endpoint faulty, boolean zones) {
    return lb.inspect().endpoints().stream()
        .filter(e -> !e.key().equals(faulty.key()))
        .filter(e -> !"v2".equals(e.tags().get("version")))
        .anyMatch(e -> !zones || e.zone().equals(faulty.zone()));
  }

  private static long failuresOf(LoadBalancer lb, Endpoint e) {
    return isListed(lb, e) ? snapshotOf(lb, e).failures() : 0;
  }
}
