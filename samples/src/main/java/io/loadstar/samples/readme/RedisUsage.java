package io.loadstar.samples.readme;

// tag::readme[]
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.OutlierDetectionConfig;
import io.loadstar.core.Strategies;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import redis.clients.jedis.RedisClient;

// end::readme[]

/** The README's Redis section; {@code RedisExample} runs it against local servers. */
public final class RedisUsage {

  private RedisUsage() {}

  /**
   * Writes {@code keys} keys, reads them back, and returns how many calls failed or read nothing.
   */
  // tag::readme[]
  public static int writeAndRead(List<Endpoint> endpoints, int keys) throws Exception {
    Map<String, RedisClient> clients = new ConcurrentHashMap<>(); // one pooled client per endpoint
    int failed = 0;
    try (LoadBalancer redis =
        LoadBalancers.builder("cache")
            .endpoints(endpoints)
            .strategy(Strategies.ringHash()) // a key always goes to the same server
            .outlierDetection(OutlierDetectionConfig.defaults())
            .build()) {
      for (int i = 0; i < keys * 2; i++) {
        int n = i;
        String key = "user:" + (i % keys);
        try {
          // A refused connection (JedisConnectionException) is retried on the key's next server.
          String value =
              redis.execute(
                  PickContext.ofHashKey(key),
                  endpoint -> {
                    RedisClient client =
                        clients.computeIfAbsent(
                            endpoint.key(),
                            k -> RedisClient.create(endpoint.host(), endpoint.port()));
                    return n < keys ? client.set(key, "v" + n) : client.get(key);
                  });
          if (value == null) {
            failed++; // read from another server than it was written to
          }
        } catch (Exception e) {
          failed++;
        }
      }
      for (EndpointSnapshot s : redis.inspect().snapshot()) {
        System.out.println(s); // 127.0.0.3 EJECTED (ejected: 5 consecutive connect failures ...)
      }
    } finally {
      clients.values().forEach(RedisClient::close);
    }
    return failed;
  }
  // end::readme[]
}
