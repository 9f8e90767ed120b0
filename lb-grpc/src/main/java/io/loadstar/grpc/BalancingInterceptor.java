package io.loadstar.grpc;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.MethodDescriptor;
import io.loadstar.api.LoadBalancer;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Makes each RPC of a Loadstar channel a {@link BalancedClientCall}: its attempts, its retries. */
final class BalancingInterceptor implements ClientInterceptor {

  private static final Logger logger = LoggerFactory.getLogger(BalancingInterceptor.class);

  final LoadBalancer balancer;
  final GrpcRules rules;
  private final AtomicBoolean warnedUnrouted = new AtomicBoolean();

  BalancingInterceptor(LoadBalancer balancer, GrpcRules rules) {
    this.balancer = balancer;
    this.rules = rules;
  }

  @Override
  public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(
      MethodDescriptor<ReqT, RespT> method, CallOptions callOptions, Channel next) {
    return new BalancedClientCall<>(this, method, callOptions, next);
  }

  /** An RPC went out without the {@code loadstar} picker: the channel runs another policy. */
  void unrouted(String method) {
    if (warnedUnrouted.compareAndSet(false, true)) {
      logger.error(
          "[{}] {} was sent without the loadstar policy routing it: the channel's service config"
              + " selects another loadBalancingConfig, so Loadstar cannot account for its RPCs"
              + " (expected: the loadstar policy, which LoadstarGrpc.configure makes the default)",
          balancer.name(),
          method);
    }
  }

  @Override
  public String toString() {
    return "BalancingInterceptor{" + balancer.name() + ", " + rules + '}';
  }
}
