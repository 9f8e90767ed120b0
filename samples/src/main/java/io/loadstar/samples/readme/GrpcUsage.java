package io.loadstar.samples.readme;

// tag::readme[]
import io.grpc.CallOptions;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.loadstar.api.LoadBalancer;
import io.loadstar.core.LoadBalancers;
import io.loadstar.dns.DnsEndpointSource;
import io.loadstar.grpc.GrpcRules;
import io.loadstar.grpc.LoadstarGrpc;

// end::readme[]

/** The README's gRPC section and lb-grpc's README. */
final class GrpcUsage {

  private GrpcUsage() {}

  static void grpc() throws Exception {
    // tag::readme[]
    LoadBalancer orders =
        LoadBalancers.builder("orders")
            .source(DnsEndpointSource.srv("_grpc._tcp.orders.internal").build())
            .build(); // least request, outlier detection, retries within a budget
    ManagedChannel channel =
        LoadstarGrpc.newChannelBuilder(orders, InsecureChannelCredentials.create())
            .build(); // loadstar:///orders: a pick per RPC, retries on another endpoint

    // Optional: which methods may be repeated once sent, and a sticky key from a header.
    GrpcRules rules =
        GrpcRules.builder()
            .retryable("orders.Orders/Get") // idempotent or safe methods already are
            .hashKeyHeader("x-customer")
            .build();
    CallOptions sticky = CallOptions.DEFAULT.withOption(LoadstarGrpc.HASH_KEY, "customer-7");
    // end::readme[]
    channel.shutdownNow();
    orders.close();
    if (rules.hashKeyHeader() == null || sticky == null) {
      throw new AssertionError();
    }
  }
}
