package io.loadstar.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class AbstractEndpointSourceTest {

  /** A context recording what is published, and whether the source's lock was held then. */
  static final class RecordingContext implements EndpointSource.Context {
    final List<EndpointUpdate> published = Collections.synchronizedList(new ArrayList<>());
    volatile Object lockToCheck = new Object();
    volatile boolean publishedUnderLock;
    EndpointSource.Listener publisher = published::add;

    @Override
    public String serviceName() {
      return "svc";
    }

    @Override
    public void publish(EndpointUpdate update) {
      if (Thread.holdsLock(lockToCheck)) {
        publishedUnderLock = true;
      }
      publisher.onUpdate(update);
    }

    @Override
    public Executor controlLoop() {
      return Runnable::run;
    }

    @Override
    public ScheduledExecutorService scheduler() {
      throw new UnsupportedOperationException();
    }

    @Override
    public Executor executor() {
      return Runnable::run;
    }

    @Override
    public Ticker ticker() {
      return Ticker.system();
    }

    @Override
    public long seed() {
      return 1;
    }

    @Override
    public EndpointSource.Context withPublisher(EndpointSource.Listener other) {
      RecordingContext c = new RecordingContext();
      c.publisher = other;
      return c;
    }
  }

  /** A source that computes answers under a lock of its own, as the etcd and DNS sources do. */
  static final class LockingSource extends AbstractEndpointSource {
    final Object lock = new Object();
    int started;
    int closed;

    @Override
    protected void onStart(Context context) {
      started++;
    }

    @Override
    protected void onClose() {
      closed++;
    }

    void answer(EndpointUpdate update) {
      synchronized (lock) {
        offer(update);
      }
      flush();
    }

    @Override
    public String toString() {
      return "LockingSource";
    }
  }

  private static EndpointUpdate list(int port) {
    return EndpointUpdate.of(List.of(Endpoint.of("10.0.0.1", port)));
  }

  /** What each published answer was: the port of its one endpoint, or -1 for a failure. */
  private static List<Integer> ports(RecordingContext context) {
    List<Integer> out = new ArrayList<>();
    synchronized (context.published) {
      for (EndpointUpdate u : context.published) {
        out.add(u.isError() ? -1 : u.endpoints().get(0).port());
      }
    }
    return out;
  }

  @Test
  void answersBeforeStart_theLatestIsDeliveredAtStart() {
    LockingSource source = new LockingSource();
    source.answer(list(1));
    source.answer(list(2));
    RecordingContext context = new RecordingContext();
    source.start(context);
    assertThat(ports(context)).containsExactly(2);
    assertThat(source.started).isEqualTo(1);
  }

  @Test
  void aSecondStart_orAStartAfterClose_isRefused_closeRunsOnce_andDropsLaterAnswers() {
    LockingSource source = new LockingSource();
    RecordingContext context = new RecordingContext();
    source.start(context);
    assertThatThrownBy(() -> source.start(new RecordingContext()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("LockingSource already serves a balancer (expected: one source per balancer)");
    source.close();
    source.close();
    assertThat(source.closed).isEqualTo(1);
    source.answer(list(3));
    assertThat(context.published).isEmpty();
    assertThatThrownBy(() -> source.start(new RecordingContext()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("is closed");
  }

  @Test
  void theBalancerIsNeverCalledUnderTheSourcesLock() {
    LockingSource source = new LockingSource();
    RecordingContext context = new RecordingContext();
    context.lockToCheck = source.lock;
    source.start(context);
    source.answer(list(1));
    assertThat(ports(context)).containsExactly(1);
    assertThat(context.publishedUnderLock).isFalse();
  }

  @Test
  void aFailureAfterAListNotYetDelivered_doesNotHideTheList() throws Exception {
    LockingSource source = new LockingSource();
    RecordingContext context = new RecordingContext();
    CountDownLatch inBalancer = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    context.publisher =
        update -> {
          context.published.add(update);
          if (context.published.size() == 1) {
            inBalancer.countDown(); // the first delivery waits: later answers pile up
            try {
              release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
        };
    source.start(context);
    Thread first = new Thread(() -> source.answer(list(1)));
    first.start();
    assertThat(inBalancer.await(10, TimeUnit.SECONDS)).isTrue();
    source.answer(list(2)); // left for the delivering thread
    source.answer(EndpointUpdate.failed(new RuntimeException("down")));
    release.countDown();
    first.join(10_000);
    assertThat(ports(context)).containsExactly(1, 2, -1);
  }

  @Test
  void manyThreads_theLastAnswerOfferedIsTheLastDelivered() throws Exception {
    LockingSource source = new LockingSource();
    RecordingContext context = new RecordingContext();
    source.start(context);
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      int base = t * 1000;
      threads.add(
          new Thread(
              () -> {
                for (int i = 1; i <= 500; i++) {
                  source.answer(list(base + i));
                }
              }));
    }
    threads.forEach(Thread::start);
    for (Thread t : threads) {
      t.join(10_000);
    }
    source.answer(list(9999)); // after every other: must be the last one the balancer sees
    List<Integer> seen = ports(context);
    assertThat(seen.get(seen.size() - 1)).isEqualTo(9999);
  }
}
