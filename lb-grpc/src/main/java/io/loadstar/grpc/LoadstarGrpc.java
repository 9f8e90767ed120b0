package io.loadstar.grpc;

import static java.util.Objects.requireNonNull;

import io.grpc.CallOptions;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannelBuilder;
import io.grpc.NameResolver;
import io.loadstar.api.LoadBalancer;
import java.util.Map;

/**
 * A gRPC channel on a Loadstar balancer: the balancer's discovery feeds the channel through the
 * {@code loadstar} name resolver, and every RPC is routed by the balancer's picker through the
 * {@code loadstar} load-balancing policy, with retries on another endpoint.
 *
 * <pre>{@code
 * LoadBalancer orders = LoadBalancers.builder("orders")
 *     .source(DnsSources.srv("_grpc._tcp.orders.internal"))
 *     .build();
 * ManagedChannel channel =
 *     LoadstarGrpc.newChannelBuilder(orders, InsecureChannelCredentials.create()).build();
 * OrdersGrpc.OrdersBlockingStub stub = OrdersGrpc.newBlockingStub(channel);
 * }</pre>
 *
 * <p>The channel keeps one subchannel (one connection) per endpoint, and each RPC goes to the
 * endpoint the balancer picks for it: every strategy, tier, zone, canary split, sticky key and
 * subset applies per RPC. Outcomes are reported from the RPC's status and latency, and each RPC
 * holds an in-flight slot until it closes. The application owns the balancer: close it after the
 * channel. Its {@code inspect()} ({@code explain}, {@code snapshot}) and metrics describe the
 * channel's traffic.
 */
public final class LoadstarGrpc {

  /** The name resolver's scheme: {@code loadstar:///<service>}. */
  public static final String SCHEME = "loadstar";

  /** The load-balancing policy's name, for a service config's {@code loadBalancingConfig}. */
  public static final String POLICY = "loadstar";

  /** The name resolver argument carrying the channel's balancer. */
  public static final NameResolver.Args.Key<LoadBalancer> BALANCER =
      NameResolver.Args.Key.create("io.loadstar.grpc.balancer");

  /**
   * A call's hash key, for consistent hashing and sticky keys ({@code
   * stub.withOption(LoadstarGrpc.HASH_KEY, userId)}); it wins over {@link
   * GrpcRules.Builder#hashKeyHeader}.
   */
  public static final CallOptions.Key<String> HASH_KEY =
      CallOptions.Key.create("io.loadstar.grpc.hashKey");

  /**
   * Whether a call may be repeated on another endpoint after it was sent: {@code true} marks it
   * retryable on its method's codes ({@code UNAVAILABLE} by default), {@code false} never repeats
   * it once sent. Unset, {@link GrpcRules} decides.
   */
  public static final CallOptions.Key<Boolean> RETRYABLE =
      CallOptions.Key.create("io.loadstar.grpc.retryable");

  private LoadstarGrpc() {}

  /** Returns the target that resolves through {@code balancer}: {@code loadstar:///<name>}. */
  public static String target(LoadBalancer balancer) {
    return SCHEME + ":///" + requireNonNull(balancer, "balancer").name();
  }

  /**
   * Returns a channel builder for {@code balancer}'s service with the {@linkplain
   * GrpcRules#defaults() default rules}: see {@link #configure}. The channel's authority (the
   * {@code :authority} header, and the name TLS verifies) is the balancer's name unless {@code
   * overrideAuthority} sets another.
   */
  public static ManagedChannelBuilder<?> newChannelBuilder(
      LoadBalancer balancer, ChannelCredentials credentials) {
    return newChannelBuilder(balancer, credentials, GrpcRules.defaults());
  }

  /** Returns a channel builder for {@code balancer}'s service with {@code rules}. */
  public static ManagedChannelBuilder<?> newChannelBuilder(
      LoadBalancer balancer, ChannelCredentials credentials, GrpcRules rules) {
    ManagedChannelBuilder<?> builder =
        Grpc.newChannelBuilder(target(balancer), requireNonNull(credentials, "credentials"));
    configure(builder, balancer, rules);
    return builder;
  }

  /**
   * Configures a builder made for {@link #target(LoadBalancer)} (a {@code NettyChannelBuilder} with
   * event loops of your own, say) to run on {@code balancer}: passes the balancer to the name
   * resolver, makes {@code loadstar} the default policy, adds the interceptor that makes each RPC's
   * attempts, hands {@code rules}' service config (if any) to the channel, and turns off the
   * channel's own retries, which would repeat an attempt on the endpoint it failed on. Interceptors
   * added after this one run before it.
   *
   * @throws IllegalArgumentException if {@code balancer} is closed
   */
  public static void configure(
      ManagedChannelBuilder<?> builder, LoadBalancer balancer, GrpcRules rules) {
    requireNonNull(builder, "builder");
    requireNonNull(balancer, "balancer");
    requireNonNull(rules, "rules");
    try {
      balancer.inspect().endpoints();
    } catch (IllegalStateException e) {
      throw new IllegalArgumentException("balancer: " + balancer.name() + " is closed", e);
    }
    builder.setNameResolverArg(BALANCER, balancer);
    builder.defaultLoadBalancingPolicy(POLICY);
    Map<String, ?> serviceConfig = rules.serviceConfig();
    if (serviceConfig != null) {
      builder.defaultServiceConfig(serviceConfig);
    }
    builder.disableRetry();
    builder.intercept(new BalancingInterceptor(balancer, rules));
  }
}
