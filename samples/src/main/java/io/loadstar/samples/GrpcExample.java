package io.loadstar.samples;

import io.grpc.CallOptions;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.core.LoadBalancers;
import io.loadstar.grpc.LoadstarGrpc;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * A gRPC channel on Loadstar: three gRPC servers on 127.0.0.1-3, one of which answers {@code
 * UNAVAILABLE} ("overloaded") to every call, and another killed halfway through. The channel, built
 * with {@code LoadstarGrpc.newChannelBuilder} and the balancer's defaults, makes {@code --rpcs N}
 * unary calls (default 300) of an idempotent method; none fails: each failed attempt is retried on
 * another server, outlier detection ejects the overloaded one after its fifth failure, and the
 * killed one, once the ejection limit is reached, goes last. Prints where the calls went and what
 * the balancer says about each server ({@code inspect().snapshot()}).
 */
public final class GrpcExample {

  private static final MethodDescriptor.Marshaller<String> UTF8 =
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

  /** {@code example.Orders/Get}: idempotent, so Loadstar may repeat it after it was sent. */
  static final MethodDescriptor<String, String> GET =
      MethodDescriptor.<String, String>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName("example.Orders/Get")
          .setRequestMarshaller(UTF8)
          .setResponseMarshaller(UTF8)
          .setIdempotent(true)
          .build();

  private GrpcExample() {}

  /** Runs the example. */
  public static void main(String[] args) throws Exception {
    int rpcs = args.length == 2 && args[0].equals("--rpcs") ? Integer.parseInt(args[1]) : 300;
    System.exit(run(rpcs, System.out) == 0 ? 0 : 1);
  }

  /** Runs the example; returns the failed calls (0 is the point). */
  static int run(int rpcs, PrintStream out) throws Exception {
    List<Server> servers = new ArrayList<>();
    AtomicIntegerArray answered = new AtomicIntegerArray(3);
    try {
      int port = 0;
      List<Endpoint> endpoints = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        Server server = server("127.0.0." + (i + 1), port, i, answered).start();
        servers.add(server);
        port = server.getPort();
        endpoints.add(Endpoint.of("127.0.0." + (i + 1), port));
      }
      int failed = 0;
      try (LoadBalancer orders = LoadBalancers.builder("orders").endpoints(endpoints).build()) {
        ManagedChannel channel =
            LoadstarGrpc.newChannelBuilder(orders, InsecureChannelCredentials.create()).build();
        try {
          for (int i = 0; i < rpcs; i++) {
            if (i == rpcs / 2) {
              servers.get(1).shutdownNow().awaitTermination(10, TimeUnit.SECONDS); // killed
            }
            try {
              ClientCalls.blockingUnaryCall(
                  channel,
                  GET,
                  CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
                  "order-" + i);
            } catch (RuntimeException e) {
              failed++;
              out.println("failed: " + e);
            }
          }
        } finally {
          channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
        }
        out.printf(Locale.ROOT, "Loadstar gRPC example: %d RPCs, %d failed%n", rpcs, failed);
        for (EndpointSnapshot s : orders.inspect().snapshot()) {
          int i = endpoints.indexOf(s.endpoint().withWeight(1));
          out.printf(
              Locale.ROOT,
              "%-20s %-12s %4d answered  %s%n",
              s.endpoint().key(),
              i == 2 ? "overloaded" : i == 1 ? "killed" : "healthy",
              i >= 0 ? answered.get(i) : 0,
              s.state() + (s.reason().isEmpty() ? "" : ": " + s.reason()));
        }
        out.printf(
            Locale.ROOT,
            "retries on another endpoint: %d%n",
            orders.inspect().retryStats().retries());
      }
      return failed;
    } finally {
      for (Server s : servers) {
        s.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      }
    }
  }

  /** Server {@code i}: the third answers UNAVAILABLE to every call. */
  private static Server server(String host, int port, int i, AtomicIntegerArray answered) {
    ServerServiceDefinition orders =
        ServerServiceDefinition.builder("example.Orders")
            .addMethod(
                GET,
                ServerCalls.asyncUnaryCall(
                    (request, response) -> {
                      answered.incrementAndGet(i);
                      if (i == 2) {
                        response.onError(
                            Status.UNAVAILABLE.withDescription("overloaded").asRuntimeException());
                        return;
                      }
                      response.onNext(request + " from " + host);
                      response.onCompleted();
                    }))
            .build();
    return NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
        .addService(orders)
        .build();
  }
}
