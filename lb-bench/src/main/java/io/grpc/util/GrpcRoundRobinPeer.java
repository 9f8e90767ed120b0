package io.grpc.util;

import io.grpc.LoadBalancer.FixedResultPicker;
import io.grpc.LoadBalancer.PickResult;
import io.grpc.LoadBalancer.SubchannelPicker;
import io.loadstar.bench.ReadySubchannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * gRPC-java's {@code round_robin} picker, as its balancer builds it once every subchannel is READY:
 * its package-private {@code ReadyPicker} over one fixed picker per subchannel. In gRPC's package
 * only to reach that class; lb-bench's peer, never a dependency of Loadstar.
 */
public final class GrpcRoundRobinPeer {

  private GrpcRoundRobinPeer() {}

  /** A ready picker over {@code n} subchannels. */
  public static SubchannelPicker picker(int n) {
    List<SubchannelPicker> children = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      children.add(new FixedResultPicker(PickResult.withSubchannel(new ReadySubchannel(i))));
    }
    return new RoundRobinLoadBalancer.ReadyPicker(children, new AtomicInteger());
  }
}
