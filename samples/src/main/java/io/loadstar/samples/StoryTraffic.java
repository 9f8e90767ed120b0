package io.loadstar.samples;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/** Closed-loop callers of both clients. */
final class StoryTraffic implements AutoCloseable {
  final AtomicLong[] requests = {new AtomicLong(), new AtomicLong()};
  final AtomicLong[] failed = {new AtomicLong(), new AtomicLong()};
  private final List<List<Long>> window = List.of(new ArrayList<>(), new ArrayList<>());
  private final List<List<Long>> total = List.of(new ArrayList<>(), new ArrayList<>());
  private final ExecutorService callers;
  private final OkHttpClient[] clients;
  private final int threads;
  private final String url;
  private volatile boolean running = true;

  StoryTraffic(int threads, int port, OkHttpClient plain, OkHttpClient loadstar) {
    this.threads = threads;
    this.clients = new OkHttpClient[] {plain, loadstar};
    this.url = "http://" + Story.HOST + ":" + port + "/";
    this.callers = Executors.newFixedThreadPool(2 * threads);
  }

  void start() {
    for (int c = 0; c < 2; c++) {
      for (int t = 0; t < threads; t++) {
        int client = c;
        callers.execute(() -> loop(client));
      }
    }
  }

  private void loop(int c) {
    Request request = new Request.Builder().url(url).header("X-Client", Story.CLIENTS[c]).build();
    while (running) {
      long start = System.nanoTime();
      boolean ok;
      try (Response r = clients[c].newCall(request).execute()) {
        r.body().string();
        ok = r.code() == 200;
      } catch (IOException e) {
        ok = false;
      }
      long took = System.nanoTime() - start;
      requests[c].incrementAndGet();
      if (!ok) {
        failed[c].incrementAndGet();
      }
      synchronized (this) {
        window.get(c).add(took);
        total.get(c).add(took);
      }
    }
  }

  synchronized List<Long> drainLatencies(int c) {
    List<Long> out = new ArrayList<>(window.get(c));
    window.get(c).clear();
    return out;
  }

  synchronized List<Long> all(int c) {
    return new ArrayList<>(total.get(c));
  }

  void stop() throws InterruptedException {
    running = false;
    callers.shutdown();
    callers.awaitTermination(5, TimeUnit.SECONDS);
  }

  @Override
  public void close() {
    callers.shutdownNow();
  }
}
