package io.loadstar.bench;

import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.Strategies;
import io.loadstar.grpc.LoadstarGrpc;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One unary RPC over loopback to three grpc-netty servers (127.0.0.1-.3), through a channel on
 * gRPC's own {@code round_robin} and through a Loadstar channel ({@code LoadstarGrpc}: the
 * interceptor's attempt, the {@code loadstar} picker, the outcome reported at close), with the same
 * {@code loadstar:///} resolver and the same round robin order, in one run. Run in sample mode for
 * the mean and p50, with {@code -prof gc} for the bytes each RPC allocates.
 */
@State(Scope.Benchmark)
@BenchmarkMode({Mode.Throughput, Mode.SampleTime})
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class GrpcOverheadBenchmark {

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

  /** {@code bench.Echo/Get}: a unary call of Strings (UTF-8); also {@link GrpcPickBenchmark}'s. */
  static final MethodDescriptor<String, String> GET =
      MethodDescriptor.<String, String>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName("bench.Echo/Get")
          .setRequestMarshaller(UTF8)
          .setResponseMarshaller(UTF8)
          .setIdempotent(true)
          .build();

  /**
   * {@code round_robin} as gRPC ships it (retries on, its default); {@code round_robin_noretry}
   * with {@code disableRetry()}, as Loadstar's channel has it; {@code loadstar}.
   */
  @Param({"round_robin", "round_robin_noretry", "loadstar"})
  public String policy;

  private final List<Server> servers = new ArrayList<>();
  private LoadBalancer lb;
  private ManagedChannel channel;

  @Setup
  public void setUp() throws Exception {
    int port = 0;
    List<Endpoint> endpoints = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      Server s =
          NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0." + i, port))
              .addService(
                  ServerServiceDefinition.builder("bench.Echo")
                      .addMethod(
                          GET,
                          ServerCalls.asyncUnaryCall(
                              (req, out) -> {
                                out.onNext("ok");
                                out.onCompleted();
                              }))
                      .build())
              .build()
              .start();
      servers.add(s);
      port = s.getPort();
      endpoints.add(Endpoint.of("127.0.0." + i, port));
    }
    lb =
        LoadBalancers.builder("echo")
            .endpoints(endpoints)
            .strategy(Strategies.roundRobin())
            .build();
    lb.awaitReady(Duration.ofSeconds(10));
    if (policy.equals("loadstar")) {
      channel = LoadstarGrpc.newChannelBuilder(lb, InsecureChannelCredentials.create()).build();
    } else {
      ManagedChannelBuilder<?> builder =
          Grpc.newChannelBuilder(LoadstarGrpc.target(lb), InsecureChannelCredentials.create())
              .setNameResolverArg(LoadstarGrpc.BALANCER, lb)
              .defaultLoadBalancingPolicy("round_robin");
      if (policy.equals("round_robin_noretry")) {
        builder.disableRetry();
      }
      channel = builder.build();
    }
    for (int i = 0; i < 30; i++) {
      get(); // every subchannel connected
    }
  }

  @TearDown
  public void tearDown() throws InterruptedException {
    channel.shutdownNow();
    channel.awaitTermination(10, TimeUnit.SECONDS);
    lb.close();
    for (Server s : servers) {
      s.shutdownNow();
      s.awaitTermination(10, TimeUnit.SECONDS);
    }
  }

  @Benchmark
  public String get() {
    return ClientCalls.blockingUnaryCall(channel, GET, CallOptions.DEFAULT, "x");
  }
}
