package io.loadstar.bench;

import java.io.IOException;
import java.util.SplittableRandom;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import okhttp3.Call;
import okhttp3.Callback;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.HdrHistogram.ConcurrentHistogram;

/*
 * Design notes: an open loop sends each request at its own due time whatever the answers before it
 * did, and measures it from that time, so a client or server that stalls cannot hide behind a
 * generator that waited for it (coordinated omission). The due times are Poisson arrivals; a timer
 * thread sends every request that has fallen due, then arms itself for the next one.
 */
/** One open-loop run: Poisson arrivals at a rate, each measured from its due time. */
final class OpenLoop implements Callback {

  private final OkHttpClient client;
  private final Request request;
  private final double rate;
  private final long warm;
  private final long end;
  private final SplittableRandom random = new SplittableRandom(42);
  private final ScheduledExecutorService pacer;
  private final ConcurrentHistogram latencies = new ConcurrentHistogram(3);
  private final AtomicInteger failed = new AtomicInteger();
  private long due; // the pacer's
  private int inFlight; // guarded by this
  private boolean sending = true; // guarded by this

  private OpenLoop(OkHttpClient client, String url, double rate, long seconds) {
    this.client = client;
    this.request = new Request.Builder().url(url).build();
    this.rate = rate;
    long start = System.nanoTime();
    this.due = start;
    this.warm = start + TimeUnit.SECONDS.toNanos(2);
    this.end = warm + TimeUnit.SECONDS.toNanos(seconds);
    this.pacer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "open-loop");
              t.setDaemon(true);
              return t;
            });
  }

  /**
   * Sends Poisson arrivals at {@code rate} per second to {@code url} for 2 s of warm-up and {@code
   * seconds} measured, then waits (up to 30 s) for the last answers.
   */
  static LoopbackLab.Result run(OkHttpClient client, String url, double rate, long seconds)
      throws InterruptedException {
    OpenLoop loop = new OpenLoop(client, url, rate, seconds);
    try {
      loop.pacer.execute(loop::sendDue);
      loop.awaitLastAnswers(TimeUnit.SECONDS.toNanos(30) + loop.end - System.nanoTime());
    } finally {
      loop.pacer.shutdownNow();
    }
    return new LoopbackLab.Result(loop.latencies, loop.failed.get());
  }

  /** Sends every request that has fallen due, then arms the timer for the next; the pacer's. */
  private void sendDue() {
    long now = System.nanoTime();
    while (due - now <= 0 && due - end < 0) {
      long sent = due;
      synchronized (this) {
        inFlight++;
      }
      client.newCall(request.newBuilder().tag(Long.class, sent).build()).enqueue(this);
      due += (long) (-Math.log(1 - random.nextDouble()) / rate * 1e9);
    }
    if (due - end < 0) {
      pacer.schedule(this::sendDue, due - now, TimeUnit.NANOSECONDS);
    } else {
      synchronized (this) {
        sending = false;
        notifyAll();
      }
    }
  }

  @Override
  public void onResponse(Call call, Response response) {
    boolean ok;
    try (response) {
      response.body().bytes();
      ok = response.isSuccessful();
    } catch (IOException e) {
      ok = false;
    }
    ended(call, ok);
  }

  @Override
  public void onFailure(Call call, IOException e) {
    ended(call, false);
  }

  private void ended(Call call, boolean ok) {
    long sent = call.request().tag(Long.class);
    if (sent - warm >= 0) {
      if (ok) {
        latencies.recordValue(System.nanoTime() - sent);
      } else {
        failed.incrementAndGet();
      }
    }
    synchronized (this) {
      if (--inFlight == 0 && !sending) {
        notifyAll();
      }
    }
  }

  private synchronized void awaitLastAnswers(long nanos) throws InterruptedException {
    long deadline = System.nanoTime() + nanos;
    for (long left = nanos; (sending || inFlight > 0) && left > 0; ) {
      TimeUnit.NANOSECONDS.timedWait(this, left);
      left = deadline - System.nanoTime();
    }
  }
}
