package io.loadstar.spring;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.AttemptTimeout;
import io.loadstar.api.Hedging;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.RetryPolicy;
import io.loadstar.api.Ticker;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.Strategies;
import io.loadstar.httpclient5.HttpClientLoadBalancing;
import io.loadstar.testing.Await;
import io.loadstar.testing.HttpBackends;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import mockwebserver3.MockResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.http.ResponseEntity;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.web.reactive.function.client.WebClient;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Hedged requests through WebClient on Reactor Netty, balanced by address (as {@code
 * AsyncTimeoutHedgingTest} does for HttpClient 5's async client), against real servers: a hedged
 * GET's first answer wins and the other exchange is cancelled and reported overtaken, blaming no
 * endpoint; an answer that would be retried waits for the attempt beside it; a cancel stops both; a
 * POST is not hedged; and every endpoint's in-flight count comes back to 0. The attempt timeout is
 * off, so a GET that waited on a hung backend without its hedge would show as a minute's wait.
 */
class WebClientHedgingTest {

  /** Hedges after 50 ms; no attempt timeout, so only the hedge can save a hung attempt. */
  private static final RetryPolicy HEDGED_ONLY =
      RetryPolicy.builder()
          .hedging(Hedging.after(Duration.ofMillis(50)))
          .attemptTimeout(AttemptTimeout.none())
          .build();

  private final List<AutoCloseable> closeables = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
  }

  private HttpBackends backends(int n, HttpBackends.Handler handler) throws Exception {
    HttpBackends backends = HttpBackends.start(n, handler);
    closeables.add(backends::close);
    return backends;
  }

  /** A round-robin balancer over {@code backends} with {@code policy}. */
  private LoadBalancer balancer(HttpBackends backends, RetryPolicy policy) {
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(backends.endpoints())
            .strategy(Strategies.roundRobin())
            .retryPolicy(policy)
            .build();
    closeables.add(lb);
    return lb;
  }

  private static WebClient webClient(LoadBalancer lb, HttpBackends backends) {
    AddressRewriting rewriting =
        new AddressRewriting(
            HttpClientLoadBalancing.builder().service("svc.test", lb).build(),
            Map.of("svc", ServiceProperties.TlsName.SERVICE));
    return WebClient.builder()
        .baseUrl("http://svc.test:" + backends.port())
        .clientConnector(new ReactorClientHttpConnector())
        .filter(new RewritingExchangeFilter(rewriting, "Reactor", Ticker.system(), true))
        .build();
  }

  private static Mono<ResponseEntity<String>> get(WebClient web) {
    return web.get().uri("/").retrieve().toEntity(String.class);
  }

  private static boolean idle(LoadBalancer lb) {
    return lb.inspect().snapshot().stream().allMatch(s -> s.inFlight() == 0);
  }

  private static void assertNoFailures(LoadBalancer lb) {
    assertThat(lb.inspect().snapshot())
        .as("overtaken and cancelled attempts blame no endpoint")
        .allSatisfy(e -> assertThat(e.failures()).as("%s", e).isZero());
  }

  @Test
  void aGetThatMeetsAHungBackendFirst_isAnsweredByItsHedge() throws Exception {
    HttpBackends backends = backends(3, HttpBackends.Handler.hungBelow(1));
    LoadBalancer lb = balancer(backends, HEDGED_ONLY);
    WebClient web = webClient(lb, backends);

    for (int i = 0; i < 6; i++) {
      ResponseEntity<String> r = get(web).block(Duration.ofSeconds(30));
      assertThat(r.getStatusCode().value()).isEqualTo(200);
      assertThat(r.getBody()).startsWith("backend-").isNotEqualTo("backend-0");
    }

    assertThat(backends.counts()[0]).as("round robin sends some GETs to it first").isPositive();
    assertThat(lb.inspect().retryStats().hedges())
        .as("one hedge for each GET that met the hung backend")
        .isEqualTo(backends.counts()[0]);
    assertThat(Await.until(() -> idle(lb))).isTrue();
    assertNoFailures(lb);
  }

  @Test
  void whicheverAnswersFirst_wins_andTheOtherExchangeIsCut() throws Exception {
    // Backend 0 answers after 150 ms, three times the hedging delay; backend 1 hangs. A GET sent to
    // 0 first is hedged to 1 and answered by 0; one sent to 1 first is hedged to 0, which answers.
    HttpBackends backends =
        backends(2, HttpBackends.Handler.timed(new long[] {150, 60_000}, new int[] {200, 200}));
    LoadBalancer lb = balancer(backends, HEDGED_ONLY);
    WebClient web = webClient(lb, backends);

    for (int i = 0; i < 4; i++) {
      assertThat(get(web).block(Duration.ofSeconds(30)).getBody()).isEqualTo("backend-0");
    }

    assertThat(lb.inspect().retryStats().hedges()).as("every GET").isEqualTo(4);
    assertThat(backends.counts()).containsExactly(4, 4);
    assertThat(Await.until(() -> idle(lb))).as("the hung exchanges were cut").isTrue();
    assertNoFailures(lb);
  }

  @Test
  void aRetryableAnswerBesideTheOtherAttempt_waitsForIt_andTheOthersAnswerIsHandedOver()
      throws Exception {
    // Backend 0: 503 after 150 ms, while the other attempt is out; backend 1: 200 after 300 ms.
    HttpBackends backends =
        backends(2, HttpBackends.Handler.timed(new long[] {150, 300}, new int[] {503, 200}));
    LoadBalancer lb = balancer(backends, HEDGED_ONLY);
    WebClient web = webClient(lb, backends);

    for (int i = 0; i < 2; i++) { // one sent to each backend first
      ResponseEntity<String> r = get(web).block(Duration.ofSeconds(30));
      assertThat(r.getStatusCode().value()).isEqualTo(200);
      assertThat(r.getBody()).isEqualTo("backend-1");
    }

    assertThat(lb.inspect().retryStats().hedges()).isEqualTo(2);
    assertThat(backends.counts()).as("no third attempt").containsExactly(2, 2);
    assertThat(Await.until(() -> idle(lb))).isTrue();
  }

  @Test
  void whenBothAttemptsFail_theLatestDecides_andTheRetryGoesToTheThirdEndpoint() throws Exception {
    // Backends 0 and 1 answer 503 after 100 ms; backend 2 answers at once. Whichever a GET meets
    // first and beside its hedge, it is answered 200 by backend 2.
    HttpBackends backends =
        backends(
            3,
            (i, r) ->
                i < 2
                    ? new MockResponse.Builder()
                        .code(503)
                        .headersDelay(100, TimeUnit.MILLISECONDS)
                        .body("busy-" + i)
                        .build()
                    : new MockResponse.Builder().body("backend-2").build());
    LoadBalancer lb = balancer(backends, HEDGED_ONLY);
    WebClient web = webClient(lb, backends);

    for (int i = 0; i < 6; i++) {
      ResponseEntity<String> r = get(web).block(Duration.ofSeconds(30));
      assertThat(r.getStatusCode().value()).isEqualTo(200);
      assertThat(r.getBody()).isEqualTo("backend-2");
    }

    assertThat(lb.inspect().retryStats().hedges()).as("GETs sent first to 0 or 1").isPositive();
    assertThat(Await.until(() -> idle(lb))).isTrue();
  }

  @Test
  void aCancelledHedgedGet_stopsBothAttempts() throws Exception {
    HttpBackends backends = backends(2, HttpBackends.Handler.hungBelow(2));
    LoadBalancer lb = balancer(backends, HEDGED_ONLY);
    WebClient web = webClient(lb, backends);

    Disposable call = get(web).subscribe();
    assertThat(Await.until(() -> backends.total() == 2)).as("the first and its hedge").isTrue();
    call.dispose();

    assertThat(Await.until(() -> idle(lb))).isTrue();
    assertNoFailures(lb);
    assertThat(lb.inspect().retryStats().hedges()).isEqualTo(1);
  }

  @Test
  void aPost_isNotHedged() throws Exception {
    HttpBackends backends = backends(2, HttpBackends.Handler.slowAt(0, 200));
    LoadBalancer lb = balancer(backends, HEDGED_ONLY);
    WebClient web = webClient(lb, backends);

    for (int i = 0; i < 2; i++) {
      String body =
          web.post()
              .uri("/")
              .bodyValue("pay")
              .retrieve()
              .bodyToMono(String.class)
              .block(Duration.ofSeconds(30));
      assertThat(body).startsWith("backend-");
    }

    assertThat(lb.inspect().retryStats().hedges()).isZero();
    assertThat(backends.counts()).containsExactly(1, 1);
    assertThat(Await.until(() -> idle(lb))).isTrue();
  }

  @Test
  void manyHedgedGetsAtOnce_eachAnsweredOnce_andEverySlotReleased() throws Exception {
    // Backend 0 answers after 120 ms, the others at once: the GETs sent to it first wait past the
    // hedging delay, and are hedged as far as the retry budget allows.
    HttpBackends backends = backends(3, HttpBackends.Handler.slowAt(0, 120));
    RetryPolicy policy =
        RetryPolicy.builder().hedging(Hedging.after(Duration.ofMillis(30))).build();
    LoadBalancer lb = balancer(backends, policy);
    WebClient web = webClient(lb, backends);

    List<ResponseEntity<String>> answers =
        Flux.range(0, 300).flatMap(i -> get(web), 300).collectList().block(Duration.ofSeconds(60));

    assertThat(answers).hasSize(300);
    assertThat(answers)
        .allSatisfy(
            r -> {
              assertThat(r.getStatusCode().value()).isEqualTo(200);
              assertThat(r.getBody()).startsWith("backend-");
            });
    long hedges = lb.inspect().retryStats().hedges();
    assertThat(hedges).isPositive();
    assertThat(backends.total())
        .as("each GET once, and its hedge unless cut before it was sent")
        .isBetween(300, 300 + (int) hedges);
    assertThat(Await.until(() -> idle(lb))).isTrue();
    assertNoFailures(lb);
  }

  @Test
  void hedgedGetsMeetingSlowAnswers503sAndCancels_eachEndOnce_andEverySlotIsReleased()
      throws Exception {
    // Each answer comes after 0 to 60 ms, around the 20 ms hedging delay, and one in five is a 503,
    // so races end every way: either attempt answers first, a 503 waits for the other, both fail
    // and a retry follows. Every tenth GET is cancelled by its caller after 25 ms.
    HttpBackends backends =
        backends(
            3,
            (i, r) -> {
              java.util.concurrent.ThreadLocalRandom random =
                  java.util.concurrent.ThreadLocalRandom.current();
              boolean busy = random.nextInt(5) == 0;
              return new MockResponse.Builder()
                  .code(busy ? 503 : 200)
                  .headersDelay(random.nextInt(61), TimeUnit.MILLISECONDS)
                  .body((busy ? "busy-" : "backend-") + i)
                  .build();
            });
    // No attempt timeout: the races are the hedges'. The adaptive timeout's first second (1 s until
    // 20 answers are measured) once timed out an attempt on a loaded CI machine while its hedge
    // had tried the second endpoint and the third was ejected: a failed GET (CI, 2026-12-07).
    RetryPolicy policy =
        RetryPolicy.builder()
            .hedging(Hedging.after(Duration.ofMillis(20)))
            .budget(100, Duration.ofSeconds(10), 1_000)
            .attemptTimeout(AttemptTimeout.none())
            .build();
    LoadBalancer lb = balancer(backends, policy);
    WebClient web = webClient(lb, backends);

    List<Integer> statuses =
        Flux.range(0, 300)
            .flatMap(
                i -> {
                  Mono<Integer> status =
                      web.get()
                          .uri("/")
                          .exchangeToMono(r -> r.releaseBody().thenReturn(r.statusCode().value()));
                  return i % 10 == 0
                      ? status.take(Duration.ofMillis(25)).defaultIfEmpty(-1)
                      : status;
                },
                300)
            .collectList()
            .block(Duration.ofSeconds(60));

    assertThat(statuses).hasSize(300).allSatisfy(s -> assertThat(s).isIn(-1, 200, 503));
    assertThat(statuses.stream().filter(s -> s == 200).count())
        .as("most GETs find a 200 within three attempts")
        .isGreaterThan(250);
    assertThat(lb.inspect().retryStats().hedges()).isPositive();
    assertThat(Await.until(() -> idle(lb))).as("%s", lb.inspect().snapshot()).isTrue();
  }
}
