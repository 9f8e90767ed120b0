package io.loadstar.bench;

import com.linecorp.armeria.client.Endpoint;
import com.linecorp.armeria.client.endpoint.EndpointGroup;
import com.linecorp.armeria.client.endpoint.EndpointSelectionStrategy;
import com.linecorp.armeria.client.endpoint.EndpointSelector;
import io.grpc.LoadBalancer.Subchannel;
import io.grpc.LoadBalancer.SubchannelPicker;
import io.grpc.util.GrpcRoundRobinPeer;
import java.util.ArrayList;
import java.util.List;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;

/**
 * Peers measured beside Loadstar in the same run: Armeria's round robin and sticky (jump hash)
 * selectors and gRPC-java's {@code round_robin} ready picker, over the same endpoint counts. They
 * pick only: neither library records an outcome on this path. The sticky selector's key is a
 * 20-character String hashed with {@code String.hashCode()} (cached in the String, as Loadstar's
 * {@code PickContext} caches its key's hash).
 */
@State(Scope.Benchmark)
public class PeerBenchmark extends ShortRun {

  @Param({"3", "100", "1000"})
  public int n;

  EndpointGroup group;
  private EndpointSelector armeriaRoundRobin;
  private SubchannelPicker grpcRoundRobin;

  @Setup
  public void setUp() {
    List<Endpoint> endpoints = new ArrayList<>(n);
    for (io.loadstar.api.Endpoint e : Setups.endpoints(n, 0)) {
      endpoints.add(Endpoint.of(e.host(), e.port()));
    }
    group = EndpointGroup.of(endpoints);
    armeriaRoundRobin = EndpointSelectionStrategy.roundRobin().newSelector(group);
    grpcRoundRobin = GrpcRoundRobinPeer.picker(n);
  }

  /** Per thread: Armeria's sticky selector reading the thread's current String key. */
  @State(Scope.Thread)
  public static class StickyKeys {
    final String[] keys = Setups.stringKeys(1024, Thread.currentThread().getId());
    String current = keys[0];
    int next;
    EndpointSelector sticky;

    @Setup
    public void setUp(PeerBenchmark benchmark) {
      sticky =
          EndpointSelectionStrategy.sticky(ctx -> current.hashCode()).newSelector(benchmark.group);
    }

    Endpoint select() {
      current = keys[next++ & (keys.length - 1)];
      return sticky.selectNow(null);
    }
  }

  @Benchmark
  @Threads(1)
  public Endpoint armeriaRoundRobin() {
    return armeriaRoundRobin.selectNow(null);
  }

  @Benchmark
  @Threads(2)
  public Endpoint armeriaRoundRobinThreads2() {
    return armeriaRoundRobin.selectNow(null);
  }

  @Benchmark
  @Threads(1)
  public Subchannel grpcRoundRobin() {
    return grpcRoundRobin.pickSubchannel(null).getSubchannel();
  }

  @Benchmark
  @Threads(2)
  public Subchannel grpcRoundRobinThreads2() {
    return grpcRoundRobin.pickSubchannel(null).getSubchannel();
  }

  @Benchmark
  @Threads(1)
  public Endpoint armeriaSticky(StickyKeys keys) {
    return keys.select();
  }

  @Benchmark
  @Threads(2)
  public Endpoint armeriaStickyThreads2(StickyKeys keys) {
    return keys.select();
  }
}
