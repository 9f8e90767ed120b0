package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.CallFailure;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.NoEndpointAvailableException;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.testing.Await;
import io.loadstar.testing.TcpBackend;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The programmatic API: execute(), the manual pick/report shape and peek(). */
class ExecuteTest {

  private final List<AutoCloseable> closeables = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : closeables) {
      c.close();
    }
  }

  private <T extends AutoCloseable> T closeLater(T c) {
    closeables.add(c);
    return c;
  }

  /** Two live TCP backends on 127.0.0.1/.2 and a refusing port on 127.0.0.3, one port. */
  private List<Endpoint> twoLiveOneRefusing() throws IOException {
    TcpBackend a = closeLater(TcpBackend.start("127.0.0.1", 0));
    closeLater(TcpBackend.start("127.0.0.2", a.port()));
    return List.of(
        Endpoint.of("127.0.0.1", a.port()),
        Endpoint.of("127.0.0.2", a.port()),
        Endpoint.of("127.0.0.3", a.port()));
  }

  /** What client libraries do: the connect error arrives wrapped in their own exception. */
  private static String connectWrapped(Endpoint e) {
    try (Socket s = new Socket()) {
      s.connect(e.socketAddress(), 2_000);
      return e.host();
    } catch (IOException io) {
      throw new IllegalStateException("client library: cannot reach " + e, io);
    }
  }

  private static int totalInFlight(LoadBalancer lb) {
    return lb.inspect().snapshot().stream().mapToInt(EndpointSnapshot::inFlight).sum();
  }

  @Test
  void execute_connectErrorWrappedByAClient_isRetriedOnAnotherEndpoint_noCallFails()
      throws Exception {
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("svc")
                .endpoints(twoLiveOneRefusing())
                .outlierDetection(OutlierDetectionConfig.defaults())
                .build());
    for (int i = 0; i < 300; i++) {
      assertThat(lb.execute(ExecuteTest::connectWrapped)).isIn("127.0.0.1", "127.0.0.2");
    }
    EndpointSnapshot refusing = lb.inspect().snapshot().get(2);
    assertThat(refusing.state()).isEqualTo(EndpointSnapshot.State.EJECTED);
    assertThat(refusing.failures()).isEqualTo(5);
    assertThat(totalInFlight(lb)).isZero();
  }

  @Test
  void execute_classifierSaysApplicationError_notRetried_reportedAsSuccess() throws Exception {
    List<Endpoint> endpoints = TestEndpoints.endpoints(3);
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("svc")
                .endpoints(endpoints)
                .retryPolicy(
                    io.loadstar.api.RetryPolicy.builder().retryPossiblyProcessed(true).build())
                .failureClassifier(
                    error ->
                        error instanceof IllegalArgumentException
                            ? null
                            : CallFailure.classify(error))
                .build());
    List<Endpoint> called = new ArrayList<>();
    IllegalArgumentException constraint = new IllegalArgumentException("duplicate key");
    assertThatThrownBy(
            () ->
                lb.execute(
                    e -> {
                      called.add(e);
                      throw constraint;
                    }))
        .isSameAs(constraint);
    assertThat(called).hasSize(1);
    assertThat(lb.inspect().snapshot().stream().mapToLong(EndpointSnapshot::successes).sum())
        .isEqualTo(1);
    assertThat(lb.inspect().snapshot().stream().mapToLong(EndpointSnapshot::failures).sum())
        .isZero();
  }

  @Test
  void execute_throwingClassifier_fallsBackToTheStandardOne() throws Exception {
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("svc")
                .endpoints(twoLiveOneRefusing())
                .failureClassifier(
                    error -> {
                      throw new IllegalStateException("classifier bug");
                    })
                .build());
    for (int i = 0; i < 30; i++) {
      assertThat(lb.execute(ExecuteTest::connectWrapped)).isIn("127.0.0.1", "127.0.0.2");
    }
  }

  @Test
  void manualShape_fromTheReadme_returnsTheSlotOnEveryPath() {
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("svc")
                .endpoints(TestEndpoints.endpoints(2))
                .maxInFlightPerEndpoint(1) // a leaked slot would make the next pick fail
                .build());
    for (int i = 0; i < 10; i++) {
      PickResult pick = lb.pick(PickContext.empty());
      assertThat(pick.isAvailable()).isTrue();
      long start = System.nanoTime();
      try {
        throw new UncheckedIOException(new IOException("the client failed mid-call"));
      } catch (RuntimeException e) {
        pick.handle().onFailure(CallFailure.classify(e), System.nanoTime() - start);
      }
      assertThat(totalInFlight(lb)).isZero();
    }
  }

  @Test
  void execute_runtimeExceptionFromTheCall_inFlightBackToZero() {
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("svc")
                .endpoints(TestEndpoints.endpoints(2))
                .maxInFlightPerEndpoint(1)
                .build());
    for (int i = 0; i < 10; i++) {
      assertThatThrownBy(
              () ->
                  lb.execute(
                      e -> {
                        throw new IllegalStateException("bug in the caller");
                      }))
          .hasMessage("bug in the caller");
      assertThat(totalInFlight(lb)).isZero();
    }
  }

  @Test
  void peek_showsTheKeysEndpoint_withoutTakingASlot() {
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("svc")
                .endpoints(TestEndpoints.endpoints(5))
                .strategy(Strategies.ringHash())
                .maxInFlightPerEndpoint(1)
                .build());
    PickContext user = PickContext.ofHashKey("user-42");
    Endpoint looked = lb.inspect().peek(user).orElseThrow();
    for (int i = 0; i < 10; i++) {
      assertThat(lb.inspect().peek(user)).contains(looked);
    }
    assertThat(totalInFlight(lb)).isZero();
    PickResult pick = lb.pick(user);
    assertThat(pick.endpoint()).isEqualTo(looked);
    pick.handle().onSuccess(1);
    lb.close();
    assertThat(lb.inspect().peek(user)).isEmpty();
  }

  @Test
  void selectionTimeout_failureMessageNamesTheDiscoveryErrorThatCameDuringTheWait()
      throws Exception {
    DynamicEndpointSource source = DynamicEndpointSource.create();
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("svc")
                .source(source)
                // Long enough that the error surely arrives during the wait, even on a busy
                // machine.
                .selectionTimeout(Duration.ofSeconds(3))
                .build());
    AtomicReference<Thread> caller = new AtomicReference<>();
    CompletableFuture<Throwable> failed =
        CompletableFuture.supplyAsync(
            () -> {
              caller.set(Thread.currentThread());
              try {
                lb.execute(e -> "never");
                return null;
              } catch (Exception e) {
                return e;
              }
            });
    assertThat(
            Await.until(
                () ->
                    caller.get() != null && caller.get().getState() == Thread.State.TIMED_WAITING))
        .isTrue();
    source.fail(new IOException("DNS lookup of svc.internal timed out"));
    Throwable e = failed.get(10, TimeUnit.SECONDS);
    assertThat(e).isInstanceOf(NoEndpointAvailableException.class);
    assertThat(e.getMessage())
        .isEqualTo(
            "no endpoint available for 'svc': 0 candidates, no endpoints discovered yet; last"
                + " discovery error: java.io.IOException: DNS lookup of svc.internal timed out");
  }

  @Test
  void socketAddress_ofAnIpLiteral_isResolved_andConnects() throws Exception {
    TcpBackend backend = closeLater(TcpBackend.start("127.0.0.2", 0));
    Endpoint e = Endpoint.of("127.0.0.2", backend.port());
    InetSocketAddress address = e.socketAddress();
    assertThat(address.isUnresolved()).isFalse();
    try (Socket s = new Socket()) {
      s.connect(address, 2_000);
    }
    assertThat(Await.until(() -> backend.accepted() == 1)).isTrue();
    assertThat(e).isEqualTo(Endpoint.of(new InetSocketAddress("127.0.0.2", backend.port())));
  }
}
