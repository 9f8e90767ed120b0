package io.loadstar.bench;

import io.grpc.LoadBalancer.PickSubchannelArgs;
import io.grpc.LoadBalancer.Subchannel;
import io.grpc.LoadBalancer.SubchannelPicker;
import io.grpc.util.GrpcRoundRobinPeer;
import io.loadstar.api.Attempt;
import io.loadstar.api.BalancedCall;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.Strategies;
import io.loadstar.grpc.LoadstarGrpcPeer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * A gRPC pick, single-threaded, in one run: gRPC-java's {@code round_robin} ready picker; the
 * {@code loadstar} picker routing an attempt already picked (what gRPC calls per RPC); and the
 * whole of Loadstar's per-RPC work around it (a call, its first attempt by round robin, the slot
 * and call options carrying it, the picker, the outcome reported). Run with {@code -prof gc}: the
 * picker allocates nothing; the per-RPC work allocates the call's state.
 */
@State(Scope.Benchmark)
public class GrpcPickBenchmark extends ShortRun {

  @Param({"3", "1000"})
  public int n;

  private LoadBalancer lb;
  private SubchannelPicker grpcRoundRobin;
  private LoadstarGrpcPeer loadstar;
  private PickSubchannelArgs routed;

  @Setup
  public void setUp() throws InterruptedException {
    lb =
        LoadBalancers.builder("svc")
            .endpoints(Setups.endpoints(n, 0))
            .strategy(Strategies.roundRobin())
            .build();
    grpcRoundRobin = GrpcRoundRobinPeer.picker(n);
    loadstar = new LoadstarGrpcPeer(lb, GrpcOverheadBenchmark.GET);
    BalancedCall call = lb.newCall(PickContext.empty(), false);
    Attempt attempt = call.first(0);
    routed = loadstar.argsFor(call, attempt); // its slot is reported when the run ends
  }

  @TearDown
  public void tearDown() {
    lb.close();
  }

  @Benchmark
  @Threads(1)
  public Subchannel grpcRoundRobin() {
    return grpcRoundRobin.pickSubchannel(null).getSubchannel();
  }

  @Benchmark
  @Threads(1)
  public Subchannel loadstarPicker() {
    return loadstar.route(routed);
  }

  @Benchmark
  @Threads(1)
  public Subchannel loadstarPerRpc() throws InterruptedException {
    return loadstar.rpc();
  }
}
