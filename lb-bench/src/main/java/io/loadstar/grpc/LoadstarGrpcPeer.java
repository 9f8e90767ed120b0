package io.loadstar.grpc;

import io.grpc.CallOptions;
import io.grpc.LoadBalancer.PickResult;
import io.grpc.LoadBalancer.PickSubchannelArgs;
import io.grpc.LoadBalancer.Subchannel;
import io.grpc.LoadBalancer.SubchannelPicker;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.loadstar.api.Attempt;
import io.loadstar.api.BalancedCall;
import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.bench.ReadySubchannel;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * lb-grpc's {@code loadstar} picker as its policy publishes it once every subchannel is READY, and
 * the per-RPC work of Loadstar's interceptor around it: in lb-grpc's package only to reach those
 * package-private classes, for lb-bench's {@code GrpcPickBenchmark}.
 */
public final class LoadstarGrpcPeer {

  private static final Runnable NOTHING = () -> {};

  private final LoadBalancer balancer;
  private final SubchannelPicker picker;
  private final MethodDescriptor<?, ?> method;

  /** The picker over {@code balancer}'s endpoints, each with an always-READY subchannel. */
  public LoadstarGrpcPeer(LoadBalancer balancer, MethodDescriptor<?, ?> method) {
    this.balancer = balancer;
    this.method = method;
    Map<String, PickResult> results = new HashMap<>();
    List<Endpoint> endpoints = balancer.inspect().endpoints();
    for (int i = 0; i < endpoints.size(); i++) {
      results.put(endpoints.get(i).key(), PickResult.withSubchannel(new ReadySubchannel(i)));
    }
    this.picker = new EndpointSubchannels.EndpointPicker(Map.copyOf(results));
  }

  /** An RPC attempt's arguments whose slot holds {@code attempt}, picked beforehand. */
  public PickSubchannelArgs argsFor(BalancedCall call, Attempt attempt) {
    return args(
        CallOptions.DEFAULT.withOption(AttemptSlot.KEY, new AttemptSlot(call, attempt, NOTHING)));
  }

  /** The picker alone: routes an attempt already picked. */
  public Subchannel route(PickSubchannelArgs args) {
    return picker.pickSubchannel(args).getSubchannel();
  }

  /**
   * What Loadstar does per RPC around gRPC's pick: a call, its first attempt, the slot and the call
   * options carrying it, the picker, and the outcome reported.
   */
  public Subchannel rpc() throws InterruptedException {
    BalancedCall call = balancer.newCall(PickContext.empty(), false);
    Attempt attempt = call.first(0);
    Subchannel s = picker.pickSubchannel(argsFor(call, attempt)).getSubchannel();
    attempt.succeeded(1_000);
    return s;
  }

  private PickSubchannelArgs args(CallOptions options) {
    return new PickSubchannelArgs() {
      @Override
      public CallOptions getCallOptions() {
        return options;
      }

      @Override
      public Metadata getHeaders() {
        return HEADERS;
      }

      @Override
      public MethodDescriptor<?, ?> getMethodDescriptor() {
        return method;
      }
    };
  }

  private static final Metadata HEADERS = new Metadata();
}
