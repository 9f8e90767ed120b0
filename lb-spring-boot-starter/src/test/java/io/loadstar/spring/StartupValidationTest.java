package io.loadstar.spring;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.AttemptTimeout;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.RetryPolicy;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.http.client.autoconfigure.HttpClientAutoConfiguration;
import org.springframework.boot.http.client.autoconfigure.imperative.ImperativeHttpClientAutoConfiguration;
import org.springframework.boot.http.client.autoconfigure.reactive.ReactiveHttpClientAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * Start-up with the starter: properties bound by Boot's binder, unknown or invalid ones refused
 * with the property named, and an HTTPS service on a transport that can only verify the endpoint's
 * address refused with the settings that fix it.
 */
class StartupValidationTest {

  private final ApplicationContextRunner runner =
      new ApplicationContextRunner()
          .withConfiguration(
              AutoConfigurations.of(
                  LoadstarAutoConfiguration.class,
                  HttpClientAutoConfiguration.class,
                  ImperativeHttpClientAutoConfiguration.class,
                  ReactiveHttpClientAutoConfiguration.class))
          .withPropertyValues("spring.http.clients.reactive.connector=http-components");

  @Test
  void properties_buildTheServicesBalancer() {
    runner
        .withPropertyValues(
            "loadstar.services.orders.host=orders.internal",
            "loadstar.services.orders.endpoints=127.0.0.1:8080,127.0.0.2:8080",
            "loadstar.services.orders.strategy=round-robin",
            "loadstar.services.orders.retry.max-attempts=2",
            "loadstar.services.orders.retry.retryable-statuses=503,429",
            "loadstar.services.orders.outlier-detection.consecutive-failures=3")
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              LoadstarServices services = context.getBean(LoadstarServices.class);
              assertThat(services.names()).containsExactly("orders");
              assertThat(services.hosts()).containsEntry("orders", "orders.internal");
              LoadBalancer lb = services.balancer("orders");
              assertThat(lb.inspect().endpoints()).hasSize(2);
              RetryPolicy policy = lb.inspect().retryPolicy();
              assertThat(policy.maxAttempts()).isEqualTo(2);
              assertThat(policy.isRetryableStatus(429)).isTrue();
              assertThat(policy.isRetryableStatus(502)).isFalse();
            });
  }

  @Test
  void attemptTimeoutAndHedging_takeAWordOrADuration() {
    runner
        .withPropertyValues(
            "loadstar.services.orders.endpoints=127.0.0.1:8080,127.0.0.2:8080",
            "loadstar.services.orders.retry.attempt-timeout=250ms",
            "loadstar.services.orders.retry.hedging=adaptive",
            "loadstar.services.billing.endpoints=127.0.0.1:8081",
            "loadstar.services.billing.retry.attempt-timeout=none",
            "loadstar.services.billing.retry.hedging=PT0.05S",
            "loadstar.services.plain.endpoints=127.0.0.1:8082")
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              LoadstarServices services = context.getBean(LoadstarServices.class);
              RetryPolicy orders = services.balancer("orders").inspect().retryPolicy();
              assertThat(orders.attemptTimeout().fixed()).isEqualTo(Duration.ofMillis(250));
              assertThat(orders.hedging().isAdaptive()).isTrue();
              RetryPolicy billing = services.balancer("billing").inspect().retryPolicy();
              assertThat(billing.attemptTimeout().isEnabled()).isFalse();
              assertThat(billing.hedging().fixed()).isEqualTo(Duration.ofMillis(50));
              RetryPolicy plain = services.balancer("plain").inspect().retryPolicy();
              assertThat(plain.attemptTimeout()).isEqualTo(AttemptTimeout.adaptive());
              assertThat(plain.hedging().isEnabled()).as("off by default").isFalse();
            });
  }

  @Test
  void badAttemptTimeoutOrHedging_failsStartUp_namingThePropertyTheValueAndWhatIsAllowed() {
    runner
        .withPropertyValues(
            "loadstar.services.orders.endpoints=127.0.0.1:8080",
            "loadstar.services.orders.retry.attempt-timeout=soon")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining("loadstar.services.orders.retry.attempt-timeout")
                    .hasMessageContaining("soon")
                    .hasMessageContaining("adaptive, none, or a duration"));
    runner
        .withPropertyValues(
            "loadstar.services.orders.endpoints=127.0.0.1:8080",
            "loadstar.services.orders.retry.hedging=2h")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining("loadstar.services.orders.retry.hedging")
                    .hasMessageContaining("2h")
                    .hasMessageContaining("PT1M"));
  }

  @Test
  void unknownProperty_failsStartUp_namingIt() {
    runner
        .withPropertyValues(
            "loadstar.services.orders.endpoints=127.0.0.1:8080",
            "loadstar.services.orders.stratgy=round-robin")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining("loadstar.services.orders.stratgy"));
  }

  @Test
  void valueOutOfRange_failsStartUp_namingThePropertyTheValueAndTheRange() {
    runner
        .withPropertyValues(
            "loadstar.services.orders.endpoints=127.0.0.1:8080",
            "loadstar.services.orders.retry.max-attempts=50")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining("loadstar.services.orders.retry.max-attempts")
                    .hasMessageContaining("50")
                    .hasMessageContaining("1..10"));
  }

  @Test
  void badEndpoint_failsStartUp_namingTheEntry() {
    runner
        .withPropertyValues("loadstar.services.orders.endpoints=127.0.0.1:8080,10.0.0.9")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining("loadstar.services.orders.endpoints[1]")
                    .hasMessageContaining("10.0.0.9")
                    .hasMessageContaining("host:port"));
  }

  @Test
  void badOrSharedHost_failsStartUp_namingTheProperty() {
    runner
        .withPropertyValues(
            "loadstar.services.orders.endpoints=127.0.0.1:8080",
            "loadstar.services.orders.host=http://orders.internal")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining("loadstar.services.orders.host")
                    .hasMessageContaining("http://orders.internal"));
    runner
        .withPropertyValues(
            "loadstar.services.orders.endpoints=127.0.0.1:8080",
            "loadstar.services.orders.host=api",
            "loadstar.services.api.endpoints=127.0.0.2:8080")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining("loadstar.services.api.host")
                    .hasMessageContaining("already balanced"));
  }

  @Test
  void badTimeoutHeader_failsStartUp_namingThePropertyAndTheValue_andEmptySendsNone() {
    runner
        .withPropertyValues(
            "loadstar.services.orders.endpoints=127.0.0.1:8080", "loadstar.timeout-header=time out")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining("loadstar.timeout-header")
                    .hasMessageContaining("time out")
                    .hasMessageContaining("a header name"));
    runner
        .withPropertyValues(
            "loadstar.services.orders.endpoints=127.0.0.1:8080", "loadstar.timeout-header=")
        .run(
            context ->
                assertThat(context.getBean(LoadstarServices.class).httpClientBalancing())
                    .hasValueSatisfying(h -> assertThat(h.timeoutHeader()).isNull()));
    runner
        .withPropertyValues("loadstar.services.orders.endpoints=127.0.0.1:8080")
        .run(
            context ->
                assertThat(context.getBean(LoadstarServices.class).httpClientBalancing())
                    .hasValueSatisfying(
                        h -> assertThat(h.timeoutHeader()).isEqualTo("Loadstar-Timeout-Ms")));
  }

  @Test
  void noSource_failsStartUp_sayingWhatToSet() {
    runner
        .withPropertyValues("loadstar.services.orders.strategy=random")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining("loadstar.services.orders.endpoints")
                    .hasMessageContaining(
                        "endpoints, dns.name, etcd.urls or discovery.service-id"));
  }

  @Test
  void discoveryWithoutADiscoveryClient_failsStartUp_sayingWhatToAdd() {
    runner
        .withPropertyValues("loadstar.services.orders.discovery.service-id=orders")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining("loadstar.services.orders.discovery.service-id")
                    .hasMessageContaining("no Spring Cloud DiscoveryClient")
                    .hasMessageContaining("spring-cloud-starter-zookeeper-discovery"));
  }

  @Test
  void unknownStrategy_failsStartUp_namingTheProperty() {
    runner
        .withPropertyValues(
            "loadstar.services.orders.endpoints=127.0.0.1:8080",
            "loadstar.services.orders.strategy=fastest")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .hasStackTraceContaining("loadstar.services.orders.strategy")
                    .hasStackTraceContaining("fastest"));
  }

  private final ApplicationContextRunner onReactorNettyAndJdk =
      new ApplicationContextRunner()
          .withConfiguration(
              AutoConfigurations.of(
                  LoadstarAutoConfiguration.class,
                  HttpClientAutoConfiguration.class,
                  ImperativeHttpClientAutoConfiguration.class,
                  ReactiveHttpClientAutoConfiguration.class))
          .withPropertyValues(
              "spring.http.clients.imperative.factory=jdk",
              "loadstar.services.orders.host=orders.internal",
              "loadstar.services.orders.endpoints=127.0.0.1:8080");

  @Test
  void plainHttpServiceOnReactorNettyAndTheJdkClient_starts() {
    onReactorNettyAndJdk.run(context -> assertThat(context).hasNotFailed());
  }

  @Test
  void httpsServiceOnReactorNettyAndTheJdkClient_failsStartUp_namingTheSettingsThatFixIt() {
    onReactorNettyAndJdk
        .withPropertyValues("loadstar.services.orders.https=true")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .hasMessageContaining("[orders] are called over HTTPS")
                    .hasMessageContaining("RestClient and RestTemplate on Jdk")
                    .hasMessageContaining("WebClient on Reactor")
                    .hasMessageContaining("spring.http.clients.imperative.factory=http-components")
                    .hasMessageContaining("spring.http.clients.reactive.connector=http-components")
                    .hasMessageContaining("tls-name=endpoint-address"));
  }

  @Test
  void httpsServiceWhoseCertificatesNameTheAddresses_startsOnReactorNettyAndTheJdkClient() {
    onReactorNettyAndJdk
        .withPropertyValues(
            "loadstar.services.orders.https=true",
            "loadstar.services.orders.tls-name=endpoint-address")
        .run(context -> assertThat(context).hasNotFailed());
  }

  @Test
  void httpsServiceOnHttpClient5_starts() {
    runner
        .withPropertyValues(
            "loadstar.services.orders.endpoints=127.0.0.1:8080",
            "loadstar.services.orders.https=true")
        .run(context -> assertThat(context).hasNotFailed());
  }

  @Test
  void unknownTlsName_failsStartUp_namingTheProperty() {
    runner
        .withPropertyValues(
            "loadstar.services.orders.endpoints=127.0.0.1:8080",
            "loadstar.services.orders.tls-name=ip")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .hasStackTraceContaining("loadstar.services.orders.tls-name")
                    .hasStackTraceContaining("ip"));
  }

  @Test
  void disabled_noServicesNoChecks() {
    runner
        .withPropertyValues("loadstar.enabled=false", "loadstar.services.orders.strategy=random")
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              assertThat(context).doesNotHaveBean(LoadstarServices.class);
            });
  }

  @Test
  void noServices_startsWithNothingBalanced() {
    runner.run(
        context -> {
          assertThat(context).hasNotFailed();
          assertThat(context.getBean(LoadstarServices.class).names()).isEmpty();
        });
  }
}
