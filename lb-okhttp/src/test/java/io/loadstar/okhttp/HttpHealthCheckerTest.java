package io.loadstar.okhttp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.Endpoint;
import io.loadstar.api.HealthCheckResult;
import io.loadstar.testing.HttpBackends;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import mockwebserver3.MockResponse;
import mockwebserver3.RecordedRequest;
import okhttp3.OkHttpClient;
import okhttp3.tls.HandshakeCertificates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class HttpHealthCheckerTest {

  private final OkHttpClient client = new OkHttpClient();
  private final AtomicInteger status = new AtomicInteger(200);
  private HttpBackends backends;

  @AfterEach
  void close() {
    if (backends != null) {
      backends.close();
    }
    client.dispatcher().executorService().shutdown();
    client.connectionPool().evictAll();
  }

  private MockResponse answer(int backend, RecordedRequest request) {
    if (request.getUrl().encodedPath().equals("/slow")) {
      return new MockResponse.Builder().headersDelay(10, TimeUnit.SECONDS).build();
    }
    return new MockResponse.Builder().code(status.get()).build();
  }

  @Test
  void statusDecides_pathMethodAndHostAreSent() throws Exception {
    backends = HttpBackends.start(1, s -> {}, this::answer);
    Endpoint target = backends.endpoint(0);
    HttpHealthChecker checker =
        HttpHealthChecker.builder(client)
            .method("HEAD")
            .path("/healthz?deep=1")
            .host("svc.test")
            .build();
    assertThat(checker.check(target, Duration.ofSeconds(2)).isHealthy()).isTrue();
    RecordedRequest r = backends.received(0).get(0);
    assertThat(r.getMethod()).isEqualTo("HEAD");
    assertThat(r.getTarget()).isEqualTo("/healthz?deep=1");
    assertThat(r.getHeaders().get("Host")).isEqualTo("svc.test:" + backends.port());

    status.set(503);
    HealthCheckResult down = checker.check(target, Duration.ofSeconds(2));
    assertThat(down.isHealthy()).isFalse();
    assertThat(down.reason()).isEqualTo("HEAD /healthz?deep=1 answered 503 (accepted: 200..399)");

    HttpHealthChecker lenient =
        HttpHealthChecker.builder(client).acceptedStatuses(200, 503).build();
    assertThat(lenient.check(target, Duration.ofSeconds(2)).isHealthy()).isTrue();
  }

  @Test
  void noAnswerWithinTheTimeout_isUnhealthy_refusedToo() throws Exception {
    backends = HttpBackends.start(1, s -> {}, this::answer);
    HttpHealthChecker checker = HttpHealthChecker.builder(client).path("/slow").build();
    HealthCheckResult r = checker.check(backends.endpoint(0), Duration.ofMillis(200));
    assertThat(r.isHealthy()).isFalse();
    assertThat(r.reason()).isEqualTo("GET /slow timed out after 200 ms");

    HealthCheckResult refused =
        HttpHealthChecker.builder(client)
            .build()
            .check(Endpoint.of("127.0.0.2", backends.port()), Duration.ofSeconds(2));
    assertThat(refused.isHealthy()).isFalse();
    assertThat(refused.reason()).startsWith("GET / failed: java.net.ConnectException");
  }

  @Test
  void https_verifiesTheCertificateAgainstTheHostName() throws Exception {
    HandshakeCertificates server = SvcTestCertificates.SERVER;
    HandshakeCertificates trust = SvcTestCertificates.CLIENT;
    backends = HttpBackends.start(1, s -> s.useHttps(server.sslSocketFactory()), this::answer);
    OkHttpClient tls =
        client
            .newBuilder()
            .sslSocketFactory(trust.sslSocketFactory(), trust.trustManager())
            .build();
    HttpHealthChecker byName = HttpHealthChecker.builder(tls).https(true).host("svc.test").build();
    assertThat(byName.check(backends.endpoint(0), Duration.ofSeconds(2)).isHealthy()).isTrue();
    assertThat(backends.received(0).get(0).getHandshakeServerNames()).containsExactly("svc.test");
    HttpHealthChecker byAddress = HttpHealthChecker.builder(tls).https(true).build();
    HealthCheckResult r = byAddress.check(backends.endpoint(0), Duration.ofSeconds(2));
    assertThat(r.isHealthy()).isFalse();
    assertThat(r.reason()).contains("SSLPeerUnverifiedException");
  }

  @Test
  void validation() {
    assertThatThrownBy(() -> HttpHealthChecker.builder(client).method("POST"))
        .hasMessage("method: POST (expected: GET, HEAD, OPTIONS)");
    assertThatThrownBy(() -> HttpHealthChecker.builder(client).path("healthz"))
        .hasMessage("path: healthz (expected: starts with /)");
    assertThatThrownBy(() -> HttpHealthChecker.builder(client).acceptedStatuses(300, 200))
        .hasMessage("acceptedStatuses: 300..200 (expected: a range within 100..599)");
  }
}
