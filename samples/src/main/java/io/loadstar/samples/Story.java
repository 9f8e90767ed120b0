package io.loadstar.samples;

import io.loadstar.api.LoadBalancer;
import io.loadstar.bench.TailLab;
import io.loadstar.core.HealthCheckConfig;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.Strategies;
import io.loadstar.core.TcpHealthChecker;
import io.loadstar.dns.DnsEndpointSource;
import io.loadstar.okhttp.LoadBalancingInterceptor;
import io.loadstar.testing.LoopbackDnsServer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;

/**
 * Loadstar's demo: the same traffic through plain OkHttp and through OkHttp with Loadstar, side by
 * side, against backends on loopback found through a real DNS responder, while a script breaks
 * things: a backend dies, one turns slow, one answers 503, the dead one returns, a rolling restart
 * takes each down in turn, and DNS adds a fourth. Loadstar runs with the README's defaults. A live
 * table every second, a summary at the end, and an HTML report with the charts.
 *
 * <p>The scenarios {@code ramp} and {@code tower} run the tail-latency lab's experiments instead
 * (lb-bench's {@link TailLab}: Prequal's load ramp and tower's latency mix, every strategy alone
 * and with hedging, on simulated time, in about 10 and 4 s), print their tables and write their
 * report.
 *
 * <pre>
 * usage: Story [--seconds N] [--threads N] [--strategy NAME]
 *              [--scenario all|die|slow|hang|503|restart|dns|ramp|tower]
 *              [--report FILE]
 *   --seconds  how long the story runs (default 56: 7 steps of 8 s)
 *   --threads  callers per client (default 4)
 *   --strategy a strategy other than the default least request
 *   --scenario one fault only, between a healthy step and a recovery step; or a lab experiment
 *   --report   where the HTML report goes (default target/loadstar-demo.html)
 * </pre>
 */
public final class Story {

  static final String USAGE =
      "usage: Story [--seconds N] [--threads N] [--strategy NAME]"
          + " [--scenario all|die|slow|hang|503|restart|dns|ramp|tower] [--report FILE]";
  static final String HOST = "demo.svc.test";
  static final String[] CLIENTS = {"plain", "loadstar"};

  private Story() {}

  /** Runs the story; exits with status 2 on bad arguments. */
  public static void main(String[] args) throws Exception {
    StoryOptions o;
    try {
      o = StoryOptions.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("error: " + e.getMessage());
      System.err.println(USAGE);
      System.exit(2);
      return;
    }
    if (o.lab()) {
      runLab(o, System.out);
    } else {
      run(o, System.out);
    }
    System.exit(0); // the figures are the output; StoryTest asserts what they must show
  }

  /**
   * Runs the lab experiment the scenario names, with the lab's seed, and writes its report; returns
   * the lab's targets it missed (printed too: the demo shows them and exits 0 all the same).
   */
  static List<String> runLab(StoryOptions o, PrintStream out) throws IOException {
    out.println(
        "Loadstar tail-latency lab, "
            + o.scenario
            + ": Loadstar's balancers and retry engine on simulated time, every strategy alone"
            + " and with hedging (lb-bench's TailLab; lb-bench/README.md explains the figures)");
    return TailLab.run(List.of(o.scenario), 42, o.report, out);
  }

  /** What happened, per client (index 0 plain, 1 Loadstar) and per second. */
  static final class Result {
    final long[] requests = new long[2];
    final long[] failed = new long[2];
    long retries;
    final List<String> steps = new ArrayList<>(); // "second: what"
    final List<double[][]> shares = new ArrayList<>(); // per second: [client][backend], all answers
    final List<double[]> p99 = new ArrayList<>(); // per second: [client] in ms
    final List<long[]> requestsPerSecond = new ArrayList<>(); // per second: [client]
    final List<long[]> failedPerSecond = new ArrayList<>(); // per second: [client]
    final List<int[][]> okPerSecond = new ArrayList<>(); // per second: [client][backend]
    final List<int[][]> errorsPerSecond = new ArrayList<>(); // per second: [client][backend]
    double[] p50All = new double[2];
    double[] p99All = new double[2];
  }

  /** One step of the script: at {@code second}, {@code what} happens. */
  private record Step(int second, String what, Runnable action) {}

  static Result run(StoryOptions o, PrintStream out) throws Exception {
    List<StoryBackend> backends = StoryBackend.startFour();
    int port = backends.get(0).address.getPort();
    Result result = new Result();
    try (LoopbackDnsServer dns = new LoopbackDnsServer()) {
      List<StoryBackend> listed = new ArrayList<>(backends.subList(0, 3));
      publish(dns, listed);
      OkHttpClient base =
          new OkHttpClient.Builder()
              .connectTimeout(Duration.ofSeconds(1))
              .callTimeout(Duration.ofSeconds(2))
              .build();
      // Plain OkHttp: the DNS answer in the order the server gives it, rotated per lookup (DNS
      // round robin); OkHttp pools connections and tries the next address only when a connect
      // fails, as every client does that has no balancer.
      OkHttpClient plain = base.newBuilder().dns(new RotatingDns(dns.address())).build();
      // The defaults, plus two settings of the README's configuration, printed in the header: TCP
      // health checks (without them a backend that returns is let back when its ejection ends,
      // 30 s; with them as soon as 2 probes pass) and slow start (a backend that returns or is
      // added ramps up from 10% of its share over 10 s).
      LoadBalancers.Builder lbb =
          LoadBalancers.builder("demo")
              .source(DnsEndpointSource.builder(HOST, port).servers(List.of(dns.address())).build())
              .healthChecks(TcpHealthChecker.create(), HealthCheckConfig.defaults())
              .slowStart(Duration.ofSeconds(10));
      if (!o.strategy.isEmpty()) {
        lbb.strategy(Strategies.named(o.strategy));
      }
      try (LoadBalancer lb = lbb.build()) {
        lb.awaitReady(Duration.ofSeconds(5));
        OkHttpClient loadstar =
            LoadBalancingInterceptor.builder().service(HOST, lb).build().wrap(base);
        List<Step> script = script(o, backends, listed, dns);
        StoryTraffic traffic = new StoryTraffic(o.threads, port, plain, loadstar);
        out.printf(
            Locale.ROOT,
            "Loadstar demo: %d s, %d callers per client, backends on 127.0.0.1-4:%d, DNS %s%n"
                + "plain = OkHttp alone; loadstar = OkHttp + LoadBalancingInterceptor with the"
                + " defaults (%s), the README's TCP health checks and a 10 s slow start%n%n",
            o.seconds,
            o.threads,
            port,
            HOST,
            o.strategy.isEmpty() ? "least request" : o.strategy);
        traffic.start();
        int next = 0;
        String now = "all healthy";
        long start = System.nanoTime();
        int[][] lastServed = new int[4][2];
        int[][] lastAnswered503 = new int[4][2];
        long[] lastRequests = new long[2];
        long[] lastFailed = new long[2];
        int[][] lastErrors = new int[4][2];
        for (int second = 0; second < o.seconds; second++) {
          while (next < script.size() && script.get(next).second() <= second) {
            Step s = script.get(next++);
            s.action().run();
            now = s.what();
            result.steps.add(second + ": " + now);
          }
          long wakeAt = start + TimeUnit.SECONDS.toNanos(second + 1);
          while (System.nanoTime() < wakeAt) { // a demo, not a test: it sleeps to keep its pace
            Thread.sleep(Math.max(1, (wakeAt - System.nanoTime()) / 1_000_000));
          }
          // One row per second: what each client did in it.
          double[][] share = new double[2][4];
          double[] p99 = new double[2];
          long[] requestsNow = new long[2];
          long[] failedNow = new long[2];
          int[][] ok = new int[2][4];
          int[][] answered503 = new int[2][4];
          StringBuilder row = new StringBuilder();
          row.append(String.format(Locale.ROOT, "%3ds  %-34s", second + 1, now));
          for (int c = 0; c < 2; c++) {
            long requests = traffic.requests[c].get();
            long failed = traffic.failed[c].get();
            int total = 0;
            for (int b = 0; b < 4; b++) {
              int n = backends.get(b).served[c].get();
              int e = backends.get(b).errors[c].get();
              ok[c][b] = n - lastServed[b][c];
              answered503[c][b] = e - lastAnswered503[b][c];
              lastServed[b][c] = n;
              lastAnswered503[b][c] = e;
              total += ok[c][b] + answered503[c][b];
            }
            // Shares count every answer a backend gave, the 503s included.
            for (int b = 0; b < 4; b++) {
              share[c][b] = total == 0 ? 0 : 100.0 * (ok[c][b] + answered503[c][b]) / total;
            }
            List<Long> lat = traffic.drainLatencies(c);
            p99[c] = StoryConsole.percentile(lat, 0.99);
            requestsNow[c] = requests - lastRequests[c];
            failedNow[c] = failed - lastFailed[c];
            row.append(
                String.format(
                    Locale.ROOT,
                    " | %-8s %5d ok %4d failed p99 %8s  %3.0f%% %3.0f%% %3.0f%% %3.0f%%",
                    CLIENTS[c],
                    requestsNow[c] - failedNow[c],
                    failedNow[c],
                    StoryConsole.time(p99[c]),
                    share[c][0],
                    share[c][1],
                    share[c][2],
                    share[c][3]));
            lastRequests[c] = requests;
            lastFailed[c] = failed;
          }
          result.shares.add(share);
          result.p99.add(p99);
          result.requestsPerSecond.add(requestsNow);
          result.failedPerSecond.add(failedNow);
          result.okPerSecond.add(ok);
          result.errorsPerSecond.add(answered503);
          out.println(row);
          if ((second + 1) % 4 == 0) {
            StoryConsole.backendTable(out, backends, lb, lastErrors);
          }
        }
        traffic.stop();
        for (int c = 0; c < 2; c++) {
          result.requests[c] = traffic.requests[c].get();
          result.failed[c] = traffic.failed[c].get();
          result.p50All[c] = StoryConsole.percentile(traffic.all(c), 0.50);
          result.p99All[c] = StoryConsole.percentile(traffic.all(c), 0.99);
        }
        result.retries = lb.inspect().retryStats().retries();
        out.println();
        out.println(
            "summary (rows above: each client's answers per second, and each backend's share of"
                + " them, 503s included: 127.0.0.1, .2, .3, .4)");
        for (int c = 0; c < 2; c++) {
          out.printf(
              Locale.ROOT,
              "  %-8s %7d requests, %5d failed (%.2f%%), p50 %s, p99 %s%s%n",
              CLIENTS[c],
              result.requests[c],
              result.failed[c],
              result.requests[c] == 0 ? 0.0 : 100.0 * result.failed[c] / result.requests[c],
              StoryConsole.time(result.p50All[c]),
              StoryConsole.time(result.p99All[c]),
              c == 1 ? ", " + result.retries + " retries on another endpoint" : "");
        }
        Files.createDirectories(
            o.report.toAbsolutePath().getParent() != null
                ? o.report.toAbsolutePath().getParent()
                : Path.of("."));
        Files.writeString(o.report, StoryReport.html(o, result), StandardCharsets.UTF_8);
        out.println("  report: " + o.report.toAbsolutePath());
        plain.dispatcher().executorService().shutdown();
        plain.connectionPool().evictAll();
        base.dispatcher().executorService().shutdown();
        base.connectionPool().evictAll();
        traffic.close();
      }
    } finally {
      for (StoryBackend b : backends) {
        b.stop();
      }
    }
    return result;
  }

  /**
   * Every backend over the last 4 seconds, as each client met it: its share of the requests, the
   * error answers it gave (503s; a refused connection is counted by the client), its service time
   * (p50/p99, measured in the backend), and what Loadstar sees: state, reason, calls in flight.
   */
  /** The script: a step every seventh of the run, or one fault between two healthy steps. */
  private static List<Step> script(
      StoryOptions o, List<StoryBackend> b, List<StoryBackend> listed, LoopbackDnsServer dns) {
    List<Step> all = new ArrayList<>();
    int step = o.seconds / 7;
    Runnable nothing = () -> {};
    all.add(new Step(0, "all healthy", nothing));
    if (o.scenario.equals("all")) {
      all.add(new Step(step, "127.0.0.1 dies", b.get(0)::kill));
      all.add(new Step(2 * step, "127.0.0.2 turns 300 ms slow", () -> b.get(1).slowMillis = 300));
      all.add(
          new Step(
              3 * step,
              "127.0.0.3 answers 503",
              () -> {
                b.get(1).slowMillis = 0;
                b.get(2).status = 503;
              }));
      all.add(
          new Step(
              4 * step,
              "127.0.0.1 returns",
              () -> {
                b.get(2).status = 200;
                b.get(0).revive();
              }));
      all.add(rolling(5 * step, step, b, listed, dns));
      all.add(new Step(6 * step, "DNS adds 127.0.0.4", () -> add(dns, listed, b.get(3))));
      return all;
    }
    int half = o.seconds / 3;
    switch (o.scenario) {
      case "die":
        all.add(new Step(half, "127.0.0.1 dies", b.get(0)::kill));
        all.add(new Step(2 * half, "127.0.0.1 returns", b.get(0)::revive));
        break;
      case "slow":
        all.add(new Step(half, "127.0.0.2 turns 300 ms slow", () -> b.get(1).slowMillis = 300));
        all.add(new Step(2 * half, "127.0.0.2 is fast again", () -> b.get(1).slowMillis = 0));
        break;
      case "hang":
        all.add(new Step(half, "127.0.0.2 accepts, never answers", () -> b.get(1).hung = true));
        all.add(new Step(2 * half, "127.0.0.2 answers again", b.get(1)::unhang));
        break;
      case "503":
        all.add(new Step(half, "127.0.0.3 answers 503", () -> b.get(2).status = 503));
        all.add(new Step(2 * half, "127.0.0.3 answers 200", () -> b.get(2).status = 200));
        break;
      case "restart":
        all.add(rolling(half, half, b, listed, dns));
        break;
      default: // dns
        all.add(new Step(half, "DNS adds 127.0.0.4", () -> add(dns, listed, b.get(3))));
        break;
    }
    return all;
  }

  /**
   * A rolling restart as a deployment does it: each of backends 1-3 in turn leaves DNS, is given
   * time to drain (a second: the record's TTL), restarts, and is listed again.
   */
  private static Step rolling(
      int at, int length, List<StoryBackend> b, List<StoryBackend> listed, LoopbackDnsServer dns) {
    return new Step(
        at,
        "rolling restart of 127.0.0.1-3",
        () -> {
          Thread t =
              new Thread(
                  () -> {
                    long third = Math.max(1_500, TimeUnit.SECONDS.toMillis(length) / 3);
                    for (int i = 0; i < 3 && !b.get(i).stopped; i++) {
                      StoryBackend restarted = b.get(i);
                      synchronized (listed) {
                        listed.remove(restarted);
                        publish(dns, listed);
                      }
                      pause(1_100); // drains: the TTL is 1 s
                      restarted.kill();
                      pause(Math.max(100, third - 1_500));
                      restarted.revive();
                      synchronized (listed) {
                        listed.add(i, restarted);
                        publish(dns, listed);
                      }
                      pause(400);
                    }
                  },
                  "demo-rolling-restart");
          t.setDaemon(true);
          t.start();
        });
  }

  private static void pause(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void add(LoopbackDnsServer dns, List<StoryBackend> listed, StoryBackend b) {
    synchronized (listed) {
      listed.add(b);
      publish(dns, listed);
    }
  }

  private static void publish(LoopbackDnsServer dns, List<StoryBackend> listed) {
    if (!listed.isEmpty() && listed.get(0).stopped) {
      return; // the story is over
    }
    try {
      Name name = Name.fromString(HOST + ".");
      List<Record> records = new ArrayList<>();
      for (StoryBackend b : listed) {
        records.add(new ARecord(name, org.xbill.DNS.DClass.IN, 1, b.address.getAddress()));
      }
      dns.set(name.toString(), records);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
