package io.loadstar.core;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.Ticker;
import io.loadstar.core.internal.SerialExecutor;
import io.loadstar.testing.FakeTicker;
import io.loadstar.testing.ManualScheduler;
import io.loadstar.testing.RecordingLbEventListener;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.LongAdder;

/**
 * A balancer as its parts see it (BalancerHost), without a balancer: endpoint states made by the
 * real factory, a fake clock and scheduler, and a record of what the parts asked of it.
 */
final class FakeHost implements BalancerHost {
  final FakeTicker ticker;
  final ManualScheduler scheduler;
  final SerialExecutor loop = new SerialExecutor("fake host");
  final RecordingLbEventListener listener;
  final ServiceEvents events;
  final List<EndpointState> states = new ArrayList<>();
  final List<EndpointState> ramped = new ArrayList<>();
  int republished;

  FakeHost(long origin) {
    this.ticker = new FakeTicker(origin);
    this.scheduler = new ManualScheduler(ticker);
    this.listener = new RecordingLbEventListener(ticker);
    this.events = new ServiceEvents("svc", listener);
  }

  /** Lists {@code endpoints} as states whose call outcomes reach {@code outliers}. */
  List<EndpointState> list(
      LoadBalancers.Builder b, List<Endpoint> endpoints, OutlierDetector outliers) {
    EndpointStateFactory factory =
        new EndpointStateFactory(b.settings(), new LongAdder(), outliers, this);
    for (Endpoint e : endpoints) {
      states.add(factory.create(e));
    }
    return states;
  }

  /** Moves the clock by {@code millis} in steps of 10 ms, running what falls due. */
  void advanceMillis(long millis) {
    scheduler.advance(java.time.Duration.ofMillis(millis), java.time.Duration.ofMillis(10));
  }

  @Override
  public String name() {
    return "svc";
  }

  @Override
  public Ticker ticker() {
    return ticker;
  }

  @Override
  public SerialExecutor controlLoop() {
    return loop;
  }

  @Override
  public ServiceEvents events() {
    return events;
  }

  @Override
  public Collection<EndpointState> states() {
    return states;
  }

  @Override
  public boolean isCurrent(EndpointState state) {
    return states.contains(state);
  }

  @Override
  public ScheduledExecutorService scheduler() {
    return scheduler;
  }

  @Override
  public void startRamp(EndpointState state) {
    ramped.add(state);
  }

  @Override
  public void republish() {
    republished++;
  }

  @Override
  public void republishThen(Runnable then) {
    republish();
    then.run();
  }

  @Override
  public void stateChanged(Endpoint endpoint, EndpointSnapshot.State state, String reason) {
    events.stateChanged(endpoint, state, reason);
  }
}
