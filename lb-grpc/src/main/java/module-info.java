/**
 * The gRPC-java integration: the {@code loadstar} name resolver and load-balancing policy, per-RPC
 * picks with retries on another endpoint, and a {@code grpc.health.v1} health checker.
 */
module io.loadstar.grpc {
  requires transitive io.loadstar.api;
  requires transitive io.grpc;
  requires static io.grpc.services;
  requires static io.grpc.stub;
  requires static com.google.protobuf;
  requires org.slf4j;

  exports io.loadstar.grpc;

  provides io.grpc.NameResolverProvider with
      io.loadstar.grpc.LoadstarNameResolverProvider;
  provides io.grpc.LoadBalancerProvider with
      io.loadstar.grpc.LoadstarLoadBalancerProvider;
}
