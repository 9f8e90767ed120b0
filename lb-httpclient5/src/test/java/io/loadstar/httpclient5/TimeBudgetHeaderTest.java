package io.loadstar.httpclient5;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.AttemptTimeout;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.RetryPolicy;
import io.loadstar.core.LoadBalancers;
import io.loadstar.testing.HttpBackends;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import mockwebserver3.RecordedRequest;
import org.apache.hc.client5.http.async.methods.SimpleRequestBuilder;
import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.classic.methods.HttpPost;
import org.apache.hc.client5.http.impl.async.CloseableHttpAsyncClient;
import org.apache.hc.client5.http.impl.async.HttpAsyncClients;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.io.entity.StringEntity;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * Each attempt whose timeout applies tells the server how long it has, in {@code
 * Loadstar-Timeout-Ms} as lb-okhttp sends it; an attempt without one sends nothing; the header can
 * be renamed or turned off. Classic and async clients, real servers.
 */
class TimeBudgetHeaderTest extends HttpClient5TestBase {

  private static final RetryPolicy FIXED_250MS =
      RetryPolicy.builder().attemptTimeout(AttemptTimeout.fixed(Duration.ofMillis(250))).build();

  private LoadBalancer balancer(HttpBackends backends, RetryPolicy policy) {
    return closeLater(
        LoadBalancers.builder("svc").endpoints(backends.endpoints()).retryPolicy(policy).build());
  }

  private CloseableHttpClient classic(LoadBalancer lb, HttpClientLoadBalancing.Builder b) {
    HttpClientLoadBalancing balancing = b.service("svc.test", lb).build();
    return closeLater(balancing.configure(HttpClients.custom()).build());
  }

  private CloseableHttpAsyncClient async(LoadBalancer lb, HttpClientLoadBalancing.Builder b) {
    HttpClientLoadBalancing balancing = b.service("svc.test", lb).build();
    CloseableHttpAsyncClient client =
        closeLater(balancing.configure(HttpAsyncClients.custom()).build());
    client.start();
    return client;
  }

  /** Every request the backends received, in no particular order. */
  private static List<RecordedRequest> received(HttpBackends backends) {
    List<RecordedRequest> all = new ArrayList<>();
    backends.received().forEach(all::addAll);
    return all;
  }

  private static @Nullable String header(RecordedRequest r, String name) {
    return r.getHeaders().get(name);
  }

  @Test
  void withTheDefaults_aGetTellsTheAttemptTimeout_aPostTellsNothing() throws Exception {
    HttpBackends backends = closeLater(HttpBackends.start(3));
    LoadBalancer lb =
        closeLater(LoadBalancers.builder("svc").endpoints(backends.endpoints()).build());
    CloseableHttpClient client = classic(lb, HttpClientLoadBalancing.builder());
    String url = "http://svc.test:" + backends.port() + "/";
    client.execute(new HttpGet(url), r -> r.getCode());
    HttpPost post = new HttpPost(url);
    post.setEntity(new StringEntity("x", ContentType.TEXT_PLAIN));
    client.execute(post, r -> r.getCode());

    List<RecordedRequest> all = received(backends);
    assertThat(all).hasSize(2);
    for (RecordedRequest r : all) {
      String budget = header(r, "Loadstar-Timeout-Ms");
      if (r.getMethod().equals("GET")) {
        // The adaptive timeout's initial 1 s, until 20 successes are measured.
        assertThat(budget).as("GET").isEqualTo("1000");
      } else {
        assertThat(budget).as("POST: its attempt is never cut").isNull();
      }
    }
  }

  @Test
  void theAsyncClient_tellsItToo_andASingleEndpointsAttemptHasNoTimeoutToTell() throws Exception {
    HttpBackends backends = closeLater(HttpBackends.start(2));
    CloseableHttpAsyncClient client =
        async(balancer(backends, FIXED_250MS), HttpClientLoadBalancing.builder());
    String url = "http://svc.test:" + backends.port() + "/";
    client.execute(SimpleRequestBuilder.get(url).build(), null).get(10, TimeUnit.SECONDS);
    assertThat(received(backends))
        .singleElement()
        .satisfies(r -> assertThat(header(r, "Loadstar-Timeout-Ms")).isEqualTo("250"));

    HttpBackends one = closeLater(HttpBackends.start(1));
    CloseableHttpAsyncClient alone =
        async(balancer(one, FIXED_250MS), HttpClientLoadBalancing.builder());
    alone
        .execute(SimpleRequestBuilder.get("http://svc.test:" + one.port() + "/").build(), null)
        .get(10, TimeUnit.SECONDS);
    assertThat(received(one))
        .singleElement()
        .satisfies(
            r ->
                assertThat(header(r, "Loadstar-Timeout-Ms"))
                    .as("no other endpoint to retry on: no timeout")
                    .isNull());
  }

  @Test
  void theHeader_canBeRenamed_orTurnedOff() throws Exception {
    HttpBackends backends = closeLater(HttpBackends.start(2));
    String url = "http://svc.test:" + backends.port() + "/";
    LoadBalancer lb = balancer(backends, FIXED_250MS);
    classic(lb, HttpClientLoadBalancing.builder().timeoutHeader("Request-Timeout-Ms"))
        .execute(new HttpGet(url), r -> r.getCode());
    classic(lb, HttpClientLoadBalancing.builder().timeoutHeader(null))
        .execute(new HttpGet(url), r -> r.getCode());

    List<RecordedRequest> all = received(backends);
    assertThat(all).hasSize(2);
    assertThat(all)
        .filteredOn(r -> "250".equals(header(r, "Request-Timeout-Ms")))
        .as("renamed")
        .hasSize(1);
    assertThat(all).allSatisfy(r -> assertThat(header(r, "Loadstar-Timeout-Ms")).isNull());
  }

  @Test
  void anInvalidHeaderName_isRefusedWithTheValueAndWhatIsAllowed() {
    assertThatThrownBy(() -> HttpClientLoadBalancing.builder().timeoutHeader("time out"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("timeoutHeader: 'time out'")
        .hasMessageContaining("a header name");
    assertThatThrownBy(() -> HttpClientLoadBalancing.builder().timeoutHeader(""))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("timeoutHeader: ''");
  }
}
