package io.loadstar.grpc;

import io.grpc.Attributes;
import io.grpc.InsecureServerCredentials;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServerTransportFilter;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.loadstar.api.Endpoint;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Real gRPC servers (grpc-netty) on 127.0.0.1, .2, .3 ... sharing one port, each with a
 * hand-written service {@code loadstar.test.Echo} and the standard health service: {@code Get}
 * (unary, idempotent) and {@code Put} (unary, not idempotent) answer {@code backend-<index>};
 * {@code List} (server streaming) answers {@code backend-<index>-<n>} for n = 0..count-1. What each
 * backend does is its {@link Behavior}, which a test may change while it runs.
 */
final class GrpcBackends implements AutoCloseable {

  static final MethodDescriptor.Marshaller<String> UTF8 =
      new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(String value) {
          return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public String parse(InputStream stream) {
          try {
            return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      };

  static final MethodDescriptor<String, String> GET =
      MethodDescriptor.<String, String>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName("loadstar.test.Echo/Get")
          .setRequestMarshaller(UTF8)
          .setResponseMarshaller(UTF8)
          .setIdempotent(true)
          .build();

  static final MethodDescriptor<String, String> PUT =
      GET.toBuilder().setFullMethodName("loadstar.test.Echo/Put").setIdempotent(false).build();

  static final MethodDescriptor<String, String> LIST =
      MethodDescriptor.<String, String>newBuilder()
          .setType(MethodDescriptor.MethodType.SERVER_STREAMING)
          .setFullMethodName("loadstar.test.Echo/List")
          .setRequestMarshaller(UTF8)
          .setResponseMarshaller(UTF8)
          .build();

  /** What a backend does with a call. */
  enum Behavior {
    OK,
    /** Answers {@code UNAVAILABLE} ("overloaded"). */
    UNAVAILABLE,
    /** Answers 100 ms late. */
    SLOW,
    /** Answers {@code INVALID_ARGUMENT}: the application's answer, not a failure. */
    INVALID,
    /** Answers {@code UNAVAILABLE} with {@code grpc-retry-pushback-ms: -1}: do not retry. */
    PUSHBACK_NEVER,
    /** Answers {@code UNAVAILABLE} with {@code grpc-retry-pushback-ms: 3000}. */
    PUSHBACK_3S,
    /** Takes the call and never answers it (until the server is shut down). */
    HUNG
  }

  private int port;
  private final List<Server> servers = new ArrayList<>();
  private final List<String> hosts = new ArrayList<>();
  private final List<HealthStatusManager> health = new ArrayList<>();
  private final AtomicReferenceArray<Behavior> behaviors;
  private final AtomicIntegerArray counts;
  private final AtomicIntegerArray connections;
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "grpc-backends-timer");
            t.setDaemon(true);
            return t;
          });

  private GrpcBackends(int port, int n) {
    this.port = port;
    this.behaviors = new AtomicReferenceArray<>(n);
    for (int i = 0; i < n; i++) {
      behaviors.set(i, Behavior.OK);
    }
    this.counts = new AtomicIntegerArray(n);
    this.connections = new AtomicIntegerArray(n);
  }

  /** Starts {@code n} backends on 127.0.0.1 and the next addresses, on one free port. */
  static GrpcBackends start(int n) throws IOException {
    return startAt(1, n);
  }

  /** Starts {@code n} backends from 127.0.0.{@code firstHost}, on one free port. */
  static GrpcBackends startAt(int firstHost, int n) throws IOException {
    return startAt(firstHost, n, InsecureServerCredentials.create());
  }

  /** Starts {@code n} backends from 127.0.0.{@code firstHost} with {@code credentials}. */
  static GrpcBackends startAt(int firstHost, int n, ServerCredentials credentials)
      throws IOException {
    for (int tries = 0; ; tries++) {
      GrpcBackends b = new GrpcBackends(0, n); // the first server's port, for all of them
      try {
        for (int i = 0; i < n; i++) {
          b.startServer(firstHost, i, credentials);
        }
        return b;
      } catch (IOException e) {
        b.close();
        if (!(e.getCause() instanceof BindException || e instanceof BindException) || tries > 5) {
          throw e;
        }
      }
    }
  }

  private void startServer(int firstHost, int i, ServerCredentials credentials) throws IOException {
    HealthStatusManager h = new HealthStatusManager();
    String host = "127.0.0." + (firstHost + i);
    Server server =
        NettyServerBuilder.forAddress(new InetSocketAddress(host, port), credentials)
            .addService(service(i))
            .addService(h.getHealthService())
            .addTransportFilter(
                new ServerTransportFilter() {
                  @Override
                  public Attributes transportReady(Attributes attributes) {
                    connections.incrementAndGet(i);
                    return attributes;
                  }
                })
            .build()
            .start();
    servers.add(server);
    hosts.add(host);
    health.add(h);
    port = server.getPort();
  }

  private ServerServiceDefinition service(int i) {
    return ServerServiceDefinition.builder("loadstar.test.Echo")
        .addMethod(GET, ServerCalls.asyncUnaryCall((req, out) -> answer(i, out, "backend-" + i)))
        .addMethod(PUT, ServerCalls.asyncUnaryCall((req, out) -> answer(i, out, "backend-" + i)))
        .addMethod(
            LIST,
            ServerCalls.asyncServerStreamingCall(
                (req, out) -> {
                  counts.incrementAndGet(i);
                  int n = Integer.parseInt(req);
                  for (int k = 0; k < n; k++) {
                    out.onNext("backend-" + i + "-" + k);
                  }
                  out.onCompleted();
                }))
        .build();
  }

  private void answer(int i, StreamObserver<String> out, String body) {
    counts.incrementAndGet(i);
    switch (behaviors.get(i)) {
      case UNAVAILABLE:
        out.onError(Status.UNAVAILABLE.withDescription("overloaded").asRuntimeException());
        return;
      case PUSHBACK_NEVER:
      case PUSHBACK_3S:
        Metadata trailers = new Metadata();
        trailers.put(
            Metadata.Key.of("grpc-retry-pushback-ms", Metadata.ASCII_STRING_MARSHALLER),
            behaviors.get(i) == Behavior.PUSHBACK_NEVER ? "-1" : "3000");
        out.onError(Status.UNAVAILABLE.withDescription("draining").asRuntimeException(trailers));
        return;
      case INVALID:
        out.onError(Status.INVALID_ARGUMENT.withDescription("no such item").asRuntimeException());
        return;
      case HUNG:
        return; // the call stays open: its client's deadline, or the server's shutdown, ends it
      case SLOW:
        timer.schedule(
            () -> {
              out.onNext(body);
              out.onCompleted();
            },
            100,
            TimeUnit.MILLISECONDS);
        return;
      default:
        out.onNext(body);
        out.onCompleted();
    }
  }

  /** Sets what backend {@code i} does from now on. */
  void behave(int i, Behavior behavior) {
    behaviors.set(i, behavior);
  }

  /** Sets backend {@code i}'s answer to grpc.health.v1 for every service. */
  void serving(int i, boolean serving) {
    health
        .get(i)
        .setStatus(
            "",
            serving
                ? io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING
                : io.grpc.health.v1.HealthCheckResponse.ServingStatus.NOT_SERVING);
  }

  int port() {
    return port;
  }

  List<Endpoint> endpoints() {
    List<Endpoint> list = new ArrayList<>();
    for (int i = 0; i < servers.size(); i++) {
      list.add(endpoint(i));
    }
    return list;
  }

  Endpoint endpoint(int i) {
    return Endpoint.of(hosts.get(i), port);
  }

  /** Kills backend {@code i}: its listener and every connection close at once. */
  void kill(int i) throws InterruptedException {
    Server s = servers.get(i);
    s.shutdownNow();
    s.awaitTermination(10, TimeUnit.SECONDS);
  }

  /** Returns how many connections each backend has accepted. */
  int[] connections() {
    int[] c = new int[connections.length()];
    for (int i = 0; i < c.length; i++) {
      c[i] = connections.get(i);
    }
    return c;
  }

  int[] counts() {
    int[] c = new int[counts.length()];
    for (int i = 0; i < c.length; i++) {
      c[i] = counts.get(i);
    }
    return c;
  }

  int total() {
    int t = 0;
    for (int c : counts()) {
      t += c;
    }
    return t;
  }

  void resetCounts() {
    for (int i = 0; i < counts.length(); i++) {
      counts.set(i, 0);
    }
  }

  @Override
  public void close() {
    for (Server s : servers) {
      s.shutdownNow();
    }
    for (Server s : servers) {
      try {
        s.awaitTermination(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    timer.shutdownNow();
  }
}
