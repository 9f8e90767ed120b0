package io.loadstar.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.testing.Concurrently;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;

/**
 * What lb-grpc's tests share: what to close after each test (in reverse), backends on loopback
 * addresses no other test of the module uses, Loadstar channels, and a blocking unary call.
 */
abstract class GrpcTestBase {

  private static int nextHost = 11; // every class of the module runs in one JVM, one at a time

  private final List<AutoCloseable> closeables = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
  }

  final <T extends AutoCloseable> T closeLater(T c) {
    closeables.add(c);
    return c;
  }

  /** Returns the first of {@code n} loopback addresses (127.0.0.x) no other test has used. */
  static synchronized int hosts(int n) {
    int first = nextHost;
    if (first + n > 254) {
      throw new IllegalStateException("lb-grpc's tests ran out of 127.0.0.x addresses");
    }
    nextHost += n;
    return first;
  }

  /** Starts {@code n} backends on fresh addresses, closed after the test. */
  final GrpcBackends backends(int n) throws Exception {
    return closeLater(GrpcBackends.startAt(hosts(n), n));
  }

  /** A Loadstar channel on {@code lb} with the default rules, shut down after the test. */
  final ManagedChannel channel(LoadBalancer lb) {
    return channel(lb, GrpcRules.defaults());
  }

  /** A Loadstar channel on {@code lb} with {@code rules}, shut down after the test. */
  final ManagedChannel channel(LoadBalancer lb, GrpcRules rules) {
    return closing(
        LoadstarGrpc.newChannelBuilder(lb, InsecureChannelCredentials.create(), rules).build());
  }

  /** Shuts {@code channel} down after the test. */
  final ManagedChannel closing(ManagedChannel channel) {
    closeLater(
        () -> {
          channel.shutdownNow();
          channel.awaitTermination(10, TimeUnit.SECONDS);
        });
    return channel;
  }

  /** Calls {@code method} with {@code "x"}, within 10 s, and returns the answer. */
  static String call(Channel channel, MethodDescriptor<String, String> method) {
    return call(channel, method, CallOptions.DEFAULT);
  }

  /** Calls {@code method} with {@code "x"} and {@code options}, within 10 s. */
  static String call(
      Channel channel, MethodDescriptor<String, String> method, CallOptions options) {
    return ClientCalls.blockingUnaryCall(
        channel, method, options.withDeadlineAfter(10, TimeUnit.SECONDS), "x");
  }

  /**
   * Calls {@code method} with {@code "x"} and {@code options}, and asserts it fails with {@code
   * code}.
   */
  static void assertFails(
      Channel channel,
      MethodDescriptor<String, String> method,
      CallOptions options,
      Status.Code code) {
    assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, method, options, "x"))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode()).isEqualTo(code));
  }

  /**
   * Returns what {@code lb} knows of backend {@code i} of {@code backends}: found by key, since a
   * snapshot is sorted by key as text (127.0.0.100 before 127.0.0.99).
   */
  static EndpointSnapshot snapshotOf(LoadBalancer lb, GrpcBackends backends, int i) {
    String key = backends.endpoint(i).key();
    for (EndpointSnapshot s : lb.inspect().snapshot()) {
      if (s.endpoint().key().equals(key)) {
        return s;
      }
    }
    throw new AssertionError(key + " is not in " + lb.inspect().snapshot());
  }

  /** One {@code Get} per call, for {@link Concurrently}. */
  static Concurrently.Call get(Channel channel) {
    return i -> call(channel, GrpcBackends.GET);
  }
}
