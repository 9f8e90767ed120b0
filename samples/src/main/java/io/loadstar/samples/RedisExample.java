package io.loadstar.samples;

import io.loadstar.api.Endpoint;
import io.loadstar.samples.readme.RedisUsage;
import io.loadstar.testing.RedisServer;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import redis.clients.jedis.Jedis;

/**
 * The programmatic API with a Redis client: Loadstar picks a Redis server per call by consistent
 * hashing of the key (each key lives on one server), Jedis makes the call, and a server that
 * refuses connections costs no failed call: its calls go to the next server for their keys, and
 * outlier detection ejects it.
 *
 * <p>Starts two {@code redis-server} processes on 127.0.0.1 and 127.0.0.2 (Debian package {@code
 * redis-server}) and lists a third endpoint, 127.0.0.3, where nothing listens; writes and reads
 * {@code --keys N} keys (default 1000); prints where they went; stops the servers.
 */
public final class RedisExample {

  private RedisExample() {}

  /** Runs the example; exits with status 2 if redis-server is not installed. */
  public static void main(String[] args) throws Exception {
    if (RedisServer.binary() == null) {
      System.err.println(RedisServer.INSTALL_HINT);
      System.exit(2);
      return;
    }
    int keys = args.length == 2 && args[0].equals("--keys") ? Integer.parseInt(args[1]) : 1000;
    run(keys, System.out);
  }

  /** Runs the example against local servers; returns the failed calls (0 is the point). */
  static int run(int keys, PrintStream out) throws Exception {
    List<RedisServer> servers = new ArrayList<>();
    try {
      servers.addAll(RedisServer.startAll(List.of("127.0.0.1", "127.0.0.2")));
      int port = servers.get(0).port();
      List<Endpoint> endpoints =
          List.of(
              Endpoint.of("127.0.0.1", port),
              Endpoint.of("127.0.0.2", port),
              Endpoint.of("127.0.0.3", port)); // nothing listens there: refused
      int failed = RedisUsage.writeAndRead(endpoints, keys);
      out.printf(Locale.ROOT, "Loadstar Redis example: %d keys written and read back%n", keys);
      for (RedisServer server : servers) {
        try (Jedis jedis = new Jedis(server.host(), server.port())) {
          out.printf(Locale.ROOT, "%-20s %6d keys%n", server.host() + ":" + port, jedis.dbSize());
        }
      }
      out.printf(Locale.ROOT, "failed calls: %d%n", failed);
      return failed;
    } finally {
      for (RedisServer server : servers) {
        server.close();
      }
    }
  }
}
