package io.loadstar.grpc;

import io.grpc.LoadBalancer;
import io.grpc.LoadBalancerProvider;
import io.grpc.NameResolver.ConfigOrError;
import io.grpc.Status;
import java.util.Map;

/**
 * The {@code loadstar} load-balancing policy, found by gRPC's service loader and selectable by a
 * service config ({@code {"loadBalancingConfig": [{"loadstar": {}}]}}) or as the channel's default
 * ({@link LoadstarGrpc#configure} makes it so). It keeps one subchannel per endpoint the name
 * resolver gives and routes each RPC to the endpoint Loadstar picked for it. The picking itself is
 * done per RPC by the interceptor {@link LoadstarGrpc#configure} adds, so the policy takes no
 * settings of its own: the balancer's builder has them all.
 */
public final class LoadstarLoadBalancerProvider extends LoadBalancerProvider {

  /** Called by gRPC's service loader. */
  public LoadstarLoadBalancerProvider() {}

  @Override
  public boolean isAvailable() {
    return true;
  }

  @Override
  public int getPriority() {
    return 5;
  }

  @Override
  public String getPolicyName() {
    return LoadstarGrpc.POLICY;
  }

  @Override
  public LoadBalancer newLoadBalancer(LoadBalancer.Helper helper) {
    return new EndpointSubchannels(helper);
  }

  @Override
  public ConfigOrError parseLoadBalancingPolicyConfig(Map<String, ?> rawConfig) {
    if (rawConfig != null && !rawConfig.isEmpty()) {
      return ConfigOrError.fromError(
          Status.INVALID_ARGUMENT.withDescription(
              "loadBalancingConfig.loadstar: "
                  + rawConfig
                  + " (expected: {}; the Loadstar balancer's builder holds its settings)"));
    }
    return ConfigOrError.fromConfig(rawConfig == null ? Map.of() : rawConfig);
  }
}
