package io.loadstar.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.CallOptions;
import io.grpc.ChannelCredentials;
import io.grpc.ClientCall;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.ServerCredentials;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.RetryPolicy;
import io.loadstar.api.SelectionStrategy;
import io.loadstar.core.DynamicEndpointSource;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.Strategies;
import io.loadstar.testing.Await;
import io.loadstar.testing.FakeTicker;
import io.loadstar.testing.ManualScheduler;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import okhttp3.tls.HeldCertificate;
import org.junit.jupiter.api.Test;

/**
 * A Loadstar channel against real gRPC servers on 127.0.0.x: a pick per RPC, the retry rules (never
 * sent, marked retryable, neither), statuses that are the application's, hash keys, streams,
 * cancels and deadlines, and the errors for a channel set up wrong.
 */
class GrpcChannelTest extends GrpcTestBase {

  private LoadBalancer roundRobin(GrpcBackends backends) {
    return closeLater(
        LoadBalancers.builder("echo")
            .endpoints(backends.endpoints())
            .strategy(Strategies.roundRobin())
            .build());
  }

  @Test
  void eachRpcIsPicked_roundRobinSpreadsThemEvenly() throws Exception {
    GrpcBackends backends = backends(3);
    ManagedChannel channel = channel(roundRobin(backends));
    Set<String> answers = new HashSet<>();
    for (int i = 0; i < 30; i++) {
      answers.add(call(channel, GrpcBackends.GET));
    }
    assertThat(answers).containsExactlyInAnyOrder("backend-0", "backend-1", "backend-2");
    assertThat(backends.counts()).containsExactly(10, 10, 10);
  }

  @Test
  void tls_checksTheServicesNameOnEveryEndpoint() throws Exception {
    HeldCertificate root = new HeldCertificate.Builder().certificateAuthority(0).build();
    HeldCertificate service =
        new HeldCertificate.Builder().addSubjectAlternativeName("echo.test").signedBy(root).build();
    ServerCredentials serverCredentials =
        TlsServerCredentials.create(
            new ByteArrayInputStream(service.certificatePem().getBytes(StandardCharsets.US_ASCII)),
            new ByteArrayInputStream(
                service.privateKeyPkcs8Pem().getBytes(StandardCharsets.US_ASCII)));
    ChannelCredentials trust =
        TlsChannelCredentials.newBuilder()
            .trustManager(
                new ByteArrayInputStream(root.certificatePem().getBytes(StandardCharsets.US_ASCII)))
            .build();
    int first = hosts(3);
    GrpcBackends backends = closeLater(GrpcBackends.startAt(first, 3, serverCredentials));
    LoadBalancer lb = roundRobin(backends);
    ManagedChannel named =
        closing(LoadstarGrpc.newChannelBuilder(lb, trust).overrideAuthority("echo.test").build());
    for (int i = 0; i < 30; i++) {
      call(named, GrpcBackends.GET);
    }
    assertThat(backends.counts()).containsExactly(10, 10, 10); // by address, checked by name

    // The authority defaults to the balancer's name, "echo", which the certificate does not name.
    ManagedChannel unnamed = closing(LoadstarGrpc.newChannelBuilder(lb, trust).build());
    assertThatThrownBy(() -> call(unnamed, GrpcBackends.GET))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
    assertThat(backends.total()).isEqualTo(30);
  }

  @Test
  void aCallNeverSent_isRetriedOnAnotherEndpoint_evenIfNotIdempotent() throws Exception {
    GrpcBackends backends = backends(3);
    backends.kill(1); // before the channel: connecting to it fails, nothing is ever sent there
    LoadBalancer lb = roundRobin(backends);
    ManagedChannel channel = channel(lb);
    for (int i = 0; i < 30; i++) {
      assertThat(call(channel, GrpcBackends.PUT)).isNotEqualTo("backend-1");
    }
    assertThat(backends.counts()[0] + backends.counts()[2]).isEqualTo(30);
    assertThat(lb.inspect().retryStats().retries()).isPositive();
  }

  @Test
  void aSentCallThatIsNotRetryable_isNotRepeated() throws Exception {
    GrpcBackends backends = backends(3);
    for (int i = 0; i < 3; i++) {
      backends.behave(i, GrpcBackends.Behavior.UNAVAILABLE);
    }
    ManagedChannel channel = channel(roundRobin(backends));
    assertThatThrownBy(() -> call(channel, GrpcBackends.PUT))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
    assertThat(backends.total()).isEqualTo(1);
    // Marked retryable for this call: three attempts, each on another endpoint.
    backends.resetCounts();
    assertThatThrownBy(
            () ->
                call(
                    channel,
                    GrpcBackends.PUT,
                    CallOptions.DEFAULT.withOption(LoadstarGrpc.RETRYABLE, true)))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e ->
                assertThat(e.getStatus().getDescription())
                    .contains("overloaded")
                    .contains("earlier attempts"));
    assertThat(backends.counts()).containsExactly(1, 1, 1);
  }

  @Test
  void anIdempotentMethod_isRetriedOnUnavailable_onAnotherEndpoint() throws Exception {
    GrpcBackends backends = backends(3);
    backends.behave(0, GrpcBackends.Behavior.UNAVAILABLE);
    ManagedChannel channel = channel(roundRobin(backends));
    for (int i = 0; i < 12; i++) {
      assertThat(call(channel, GrpcBackends.GET)).isNotEqualTo("backend-0");
    }
    assertThat(backends.counts()[0]).isBetween(1, 5);
  }

  @Test
  void aServersPushbackOfMinusOne_stopsTheRetries() throws Exception {
    GrpcBackends backends = backends(3);
    for (int i = 0; i < 3; i++) {
      backends.behave(i, GrpcBackends.Behavior.PUSHBACK_NEVER);
    }
    LoadBalancer lb = roundRobin(backends);
    ManagedChannel channel = channel(lb);
    assertThatThrownBy(() -> call(channel, GrpcBackends.GET))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getDescription()).isEqualTo("draining"));
    assertThat(backends.total()).isEqualTo(1); // GET is retryable, but the server said no
    assertThat(lb.inspect().retryStats().retries()).isZero();
  }

  /** A balancer whose retries wait out a server's pushback of up to 10 s (1 s by default). */
  private LoadBalancer acceptingLongPushbacks(GrpcBackends backends, SelectionStrategy strategy) {
    return closeLater(
        LoadBalancers.builder("echo")
            .endpoints(backends.endpoints())
            .strategy(strategy)
            .retryPolicy(
                RetryPolicy.defaults().toBuilder().retryAfterMax(Duration.ofSeconds(10)).build())
            .build());
  }

  @Test
  void aRetryThatFindsNothingLeftAfterItsPause_closesABlockingCall() throws Exception {
    GrpcBackends backends = backends(2);
    LoadBalancer lb = acceptingLongPushbacks(backends, Strategies.ringHash());
    Endpoint owner = lb.inspect().explain(PickContext.ofHashKey("k")).chosen().orElseThrow();
    int first = backends.endpoints().indexOf(owner);
    backends.behave(first, GrpcBackends.Behavior.PUSHBACK_3S);
    ManualScheduler timer = new ManualScheduler(new FakeTicker(-Duration.ofDays(3).toNanos()));
    ManagedChannel channel = channel(lb, GrpcRules.builder().retryScheduler(timer).build());
    CompletableFuture<Throwable> failed =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                call(
                    channel,
                    GrpcBackends.GET,
                    CallOptions.DEFAULT.withOption(LoadstarGrpc.HASH_KEY, "k"));
                return null;
              } catch (RuntimeException e) {
                return e;
              }
            });
    // The retry waits out the server's 3 s pushback; meanwhile the other endpoint is drained.
    assertThat(Await.until(() -> timer.pendingTasks() == 1)).isTrue();
    lb.control().drain(backends.endpoint(1 - first).key());
    timer.advance(Duration.ofSeconds(3), Duration.ofSeconds(1)); // the retry finds nothing left
    Throwable e = failed.get(30, TimeUnit.SECONDS); // a blocking stub waits on its executor
    assertThat(e).isInstanceOf(StatusRuntimeException.class);
    assertThat(((StatusRuntimeException) e).getStatus().getDescription())
        .contains("draining")
        .contains("no endpoint left to retry on");
    assertThat(backends.counts()[1 - first]).isZero();
  }

  @Test
  void aRetrySchedulerThatRefuses_endsTheCallWithItsLastStatus() throws Exception {
    GrpcBackends backends = backends(2);
    LoadBalancer lb = acceptingLongPushbacks(backends, Strategies.roundRobin());
    backends.behave(0, GrpcBackends.Behavior.PUSHBACK_3S);
    backends.behave(1, GrpcBackends.Behavior.PUSHBACK_3S);
    ScheduledExecutorService stopped = Executors.newSingleThreadScheduledExecutor();
    stopped.shutdown();
    ManagedChannel channel = channel(lb, GrpcRules.builder().retryScheduler(stopped).build());
    assertThatThrownBy(() -> call(channel, GrpcBackends.GET))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e ->
                assertThat(e.getStatus().getDescription())
                    .contains("draining")
                    .contains("the retry scheduler refused the retry"));
    assertThat(backends.total()).isEqualTo(1);
  }

  @Test
  void aCancelBeforeStart_closesTheCallWhenItStarts() throws Exception {
    GrpcBackends backends = backends(1);
    LoadBalancer lb = roundRobin(backends);
    ManagedChannel channel = channel(lb);
    ClientCall<String, String> rpc = channel.newCall(GrpcBackends.GET, CallOptions.DEFAULT);
    assertThatThrownBy(() -> rpc.sendMessage("x")).hasMessageContaining("start() was not called");
    rpc.cancel("changed my mind", null);
    CompletableFuture<Status> closed = new CompletableFuture<>();
    rpc.start(
        new ClientCall.Listener<>() {
          @Override
          public void onClose(Status status, Metadata trailers) {
            closed.complete(status);
          }
        },
        new Metadata());
    Status status = closed.get(10, TimeUnit.SECONDS);
    assertThat(status.getCode()).isEqualTo(Status.Code.CANCELLED);
    assertThat(status.getDescription()).isEqualTo("changed my mind");
    rpc.halfClose();
    assertThatThrownBy(rpc::halfClose).hasMessageContaining("halfClose() was called already");
    assertThat(backends.total()).isZero();
    assertThat(lb.inspect().snapshot().get(0).inFlight()).isZero();
  }

  @Test
  void rulesAndServiceConfig_markMethodsRetryable() throws Exception {
    GrpcBackends backends = backends(2);
    backends.behave(0, GrpcBackends.Behavior.UNAVAILABLE);
    LoadBalancer lb = roundRobin(backends);
    Map<String, ?> serviceConfig =
        Map.of(
            "methodConfig",
            List.of(
                Map.of(
                    "name",
                    List.of(Map.of("service", "loadstar.test.Echo", "method", "Put")),
                    "retryPolicy",
                    Map.of(
                        "maxAttempts",
                        2.0,
                        "initialBackoff",
                        "0.1s",
                        "maxBackoff",
                        "1s",
                        "backoffMultiplier",
                        2.0,
                        "retryableStatusCodes",
                        List.of("UNAVAILABLE")))));
    ManagedChannel byConfig = channel(lb, GrpcRules.builder().serviceConfig(serviceConfig).build());
    for (int i = 0; i < 4; i++) {
      assertThat(call(byConfig, GrpcBackends.PUT)).isEqualTo("backend-1");
    }
    ManagedChannel byName =
        channel(lb, GrpcRules.builder().retryable("loadstar.test.Echo/Put").build());
    for (int i = 0; i < 4; i++) {
      assertThat(call(byName, GrpcBackends.PUT)).isEqualTo("backend-1");
    }
  }

  @Test
  void retryRules_aMethodsEntryWinsOverItsServicesOverEveryMethods() {
    GrpcRules rules =
        GrpcRules.builder()
            .retryable("*", Status.Code.ABORTED)
            .retryable("loadstar.test.Echo", Status.Code.RESOURCE_EXHAUSTED)
            .retryable("loadstar.test.Echo/Put", Status.Code.UNAVAILABLE)
            .build();
    assertThat(rules.retryOf(GrpcBackends.PUT).codes).containsExactly(Status.Code.UNAVAILABLE);
    assertThat(rules.retryOf(GrpcBackends.GET).codes)
        .containsExactly(Status.Code.RESOURCE_EXHAUSTED);
    io.grpc.MethodDescriptor<String, String> other =
        GrpcBackends.PUT.toBuilder().setFullMethodName("other.Svc/Put").build();
    assertThat(rules.retryOf(other).codes).containsExactly(Status.Code.ABORTED);
    assertThat(GrpcRules.defaults().retryOf(other)).isNull(); // not idempotent, not named
    assertThat(GrpcRules.defaults().retryOf(GrpcBackends.GET).codes) // idempotent
        .containsExactly(Status.Code.UNAVAILABLE);
    assertThat(
            rules.retryOf(
                GrpcBackends.PUT, CallOptions.DEFAULT.withOption(LoadstarGrpc.RETRYABLE, false)))
        .isNull();
  }

  @Test
  void anApplicationStatus_isNeitherRetriedNorCountedAgainstTheEndpoint() throws Exception {
    GrpcBackends backends = backends(2);
    backends.behave(0, GrpcBackends.Behavior.INVALID);
    backends.behave(1, GrpcBackends.Behavior.INVALID);
    LoadBalancer lb = roundRobin(backends);
    ManagedChannel channel = channel(lb);
    for (int i = 0; i < 10; i++) {
      assertThatThrownBy(() -> call(channel, GrpcBackends.GET))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
    }
    assertThat(backends.total()).isEqualTo(10);
    for (EndpointSnapshot s : lb.inspect().snapshot()) {
      assertThat(s.failures()).as("%s", s).isZero();
      assertThat(s.state()).isEqualTo(EndpointSnapshot.State.READY);
    }
  }

  @Test
  void aHashKey_fromCallOptionsOrHeader_goesToTheKeysEndpoint() throws Exception {
    GrpcBackends backends = backends(3);
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("echo")
                .endpoints(backends.endpoints())
                .strategy(Strategies.ringHash())
                .build());
    Endpoint owner = lb.inspect().explain(PickContext.ofHashKey("user-7")).chosen().orElseThrow();
    String expected = "backend-" + backends.endpoints().indexOf(owner);
    ManagedChannel channel = channel(lb, GrpcRules.builder().hashKeyHeader("x-user").build());
    for (int i = 0; i < 10; i++) {
      assertThat(
              call(
                  channel,
                  GrpcBackends.GET,
                  CallOptions.DEFAULT.withOption(LoadstarGrpc.HASH_KEY, "user-7")))
          .isEqualTo(expected);
    }
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("x-user", Metadata.ASCII_STRING_MARSHALLER), "user-7");
    io.grpc.Channel withHeader =
        io.grpc.ClientInterceptors.intercept(
            channel, MetadataUtils.newAttachHeadersInterceptor(headers));
    for (int i = 0; i < 10; i++) {
      assertThat(
              ClientCalls.blockingUnaryCall(
                  withHeader,
                  GrpcBackends.GET,
                  CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
                  "x"))
          .isEqualTo(expected);
    }
  }

  @Test
  void aStream_staysOnItsEndpoint_andHoldsOneSlotUntilItEnds() throws Exception {
    GrpcBackends backends = backends(3);
    LoadBalancer lb = roundRobin(backends);
    ManagedChannel channel = channel(lb);
    for (int s = 0; s < 6; s++) {
      Iterator<String> stream =
          ClientCalls.blockingServerStreamingCall(
              channel,
              GrpcBackends.LIST,
              CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
              "50");
      String first = stream.next();
      String backend = first.substring(0, first.lastIndexOf('-'));
      int index = Integer.parseInt(backend.substring("backend-".length()));
      assertThat(snapshotOf(lb, backends, index).inFlight()).isEqualTo(1);
      int n = 1;
      while (stream.hasNext()) {
        assertThat(stream.next()).startsWith(backend + "-");
        n++;
      }
      assertThat(n).isEqualTo(50);
      int i = index;
      assertThat(Await.until(() -> snapshotOf(lb, backends, i).inFlight() == 0)).isTrue();
    }
    assertThat(backends.counts()).containsExactly(2, 2, 2);
  }

  @Test
  void aCancel_releasesTheSlot_andCountsNoFailure() throws Exception {
    GrpcBackends backends = backends(1);
    backends.behave(0, GrpcBackends.Behavior.SLOW);
    LoadBalancer lb = roundRobin(backends);
    ManagedChannel channel = channel(lb);
    call(channel, GrpcBackends.GET); // connected
    ClientCall<String, String> rpc = channel.newCall(GrpcBackends.GET, CallOptions.DEFAULT);
    CompletableFuture<Status> closed = new CompletableFuture<>();
    rpc.start(
        new ClientCall.Listener<>() {
          @Override
          public void onClose(Status status, Metadata trailers) {
            closed.complete(status);
          }
        },
        new Metadata());
    rpc.request(1);
    rpc.sendMessage("x");
    rpc.halfClose();
    assertThat(Await.until(() -> lb.inspect().snapshot().get(0).inFlight() == 1)).isTrue();
    rpc.cancel("the caller gave up", null);
    assertThat(closed.get(10, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.CANCELLED);
    EndpointSnapshot s = lb.inspect().snapshot().get(0);
    assertThat(s.inFlight()).isZero();
    assertThat(s.failures()).isZero();
  }

  @Test
  void aDeadline_boundsTheCall_retriesIncluded() throws Exception {
    GrpcBackends backends = backends(2);
    backends.behave(0, GrpcBackends.Behavior.SLOW);
    backends.behave(1, GrpcBackends.Behavior.SLOW);
    ManagedChannel channel = channel(roundRobin(backends));
    assertThatThrownBy(
            () ->
                ClientCalls.blockingUnaryCall(
                    channel,
                    GrpcBackends.GET,
                    CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.MILLISECONDS),
                    "x"))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
    assertThat(backends.total()).isLessThanOrEqualTo(1);
  }

  @Test
  void rpcsStartedBeforeDiscoveryAnswers_waitForTheFirstList() throws Exception {
    GrpcBackends backends = backends(2);
    DynamicEndpointSource source = DynamicEndpointSource.create();
    LoadBalancer lb = closeLater(LoadBalancers.builder("echo").source(source).build());
    ManagedChannel channel = channel(lb);
    CompletableFuture<String> early =
        CompletableFuture.supplyAsync(() -> call(channel, GrpcBackends.PUT));
    source.set(backends.endpoints());
    assertThat(early.get(10, TimeUnit.SECONDS)).startsWith("backend-");
  }

  @Test
  void targetsWithoutAScheme_stillResolveByDns() {
    assertThat(io.grpc.NameResolverRegistry.getDefaultRegistry().asFactory().getDefaultScheme())
        .isEqualTo("dns");
  }

  @Test
  void aChannelSetUpWrong_failsWithAnErrorThatSaysHow() throws Exception {
    GrpcBackends backends = backends(1);
    LoadBalancer lb = roundRobin(backends);
    assertThatThrownBy(
            () ->
                Grpc.newChannelBuilder("loadstar:///echo", InsecureChannelCredentials.create())
                    .build())
        .hasMessageContaining("LoadstarGrpc.newChannelBuilder");
    assertThatThrownBy(
            () ->
                Grpc.newChannelBuilder("loadstar:///orders", InsecureChannelCredentials.create())
                    .setNameResolverArg(LoadstarGrpc.BALANCER, lb)
                    .build())
        .hasMessageContaining("'orders'")
        .hasMessageContaining("loadstar:///echo");

    ManagedChannel noInterceptor =
        Grpc.newChannelBuilder(LoadstarGrpc.target(lb), InsecureChannelCredentials.create())
            .setNameResolverArg(LoadstarGrpc.BALANCER, lb)
            .defaultLoadBalancingPolicy(LoadstarGrpc.POLICY)
            .build();
    closeLater(noInterceptor::shutdownNow);
    assertThatThrownBy(() -> call(noInterceptor, GrpcBackends.GET))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INTERNAL);
              assertThat(e.getStatus().getDescription()).contains("LoadstarGrpc.configure");
            });

    assertThatThrownBy(() -> GrpcRules.builder().retryable("a/b/c"))
        .hasMessageContaining("'a/b/c'")
        .hasMessageContaining("expected");
    assertThatThrownBy(() -> GrpcRules.builder().failureCodes(Status.Code.OK))
        .hasMessageContaining("OK");
    assertThatThrownBy(() -> GrpcRules.builder().hashKeyHeader("grpc-user"))
        .hasMessageContaining("grpc-user");
    assertThatThrownBy(
            () ->
                GrpcRules.builder()
                    .serviceConfig(
                        Map.of(
                            "methodConfig",
                            List.of(
                                Map.of(
                                    "name",
                                    List.of(Map.of("service", "s")),
                                    "retryPolicy",
                                    Map.of(
                                        "maxAttempts",
                                        3.0,
                                        "retryableStatusCodes",
                                        List.of("SOMETIMES")))))))
        .hasMessageContaining("SOMETIMES")
        .hasMessageContaining("methodConfig[0]");
  }
}
