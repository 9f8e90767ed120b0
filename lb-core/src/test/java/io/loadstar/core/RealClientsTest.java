package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.testing.RedisServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.h2.tools.Server;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.RedisClient;

/**
 * execute() with real client libraries against real servers, one of three endpoints refusing: Jedis
 * against redis-server processes, H2's JDBC driver against H2 TCP servers. Both wrap the refused
 * connect in their own exception; no call may fail.
 */
class RealClientsTest {

  private final List<AutoCloseable> closeables = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
  }

  private LoadBalancer balancer(String name, List<Endpoint> endpoints) {
    LoadBalancer lb =
        LoadBalancers.builder(name)
            .endpoints(endpoints)
            .outlierDetection(OutlierDetectionConfig.defaults())
            .build();
    closeables.add(lb);
    return lb;
  }

  private static void assertRefusingOneEjectedAfterFive(LoadBalancer lb, Endpoint refusing) {
    EndpointSnapshot s =
        lb.inspect().snapshot().stream()
            .filter(x -> x.endpoint().equals(refusing))
            .findFirst()
            .get();
    assertThat(s.state()).isEqualTo(EndpointSnapshot.State.EJECTED);
    assertThat(s.failures()).isEqualTo(5);
    assertThat(lb.inspect().snapshot().stream().mapToInt(EndpointSnapshot::inFlight).sum())
        .isZero();
  }

  @Test
  void jedis_oneOfThreeRedisServersRefuses_noCallFails() throws Exception {
    assumeTrue(RedisServer.binary() != null, RedisServer.INSTALL_HINT);
    List<RedisServer> servers = RedisServer.startAll(List.of("127.0.0.1", "127.0.0.2"));
    closeables.addAll(servers);
    int port = servers.get(0).port();
    Endpoint refusing = Endpoint.of("127.0.0.3", port);
    LoadBalancer redis =
        balancer(
            "redis",
            List.of(Endpoint.of("127.0.0.1", port), Endpoint.of("127.0.0.2", port), refusing));
    Map<String, RedisClient> clients = new ConcurrentHashMap<>();
    closeables.add(() -> clients.values().forEach(RedisClient::close));

    int calls = 1_200;
    for (int i = 0; i < calls; i++) {
      long n =
          redis.execute(
              e ->
                  clients
                      .computeIfAbsent(e.key(), k -> RedisClient.create(e.host(), e.port()))
                      .incr("calls"));
      assertThat(n).isPositive();
    }
    long counted = 0;
    for (String host : List.of("127.0.0.1", "127.0.0.2")) {
      try (Jedis jedis = new Jedis(host, port)) {
        counted += Long.parseLong(jedis.get("calls"));
      }
    }
    assertThat(counted).isEqualTo(calls);
    assertRefusingOneEjectedAfterFive(redis, refusing);
  }

  @Test
  void jdbc_oneOfThreeDatabasesRefuses_noCallFails() throws Exception {
    List<Endpoint> endpoints = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      // h2.bindAddress (set by the build) keeps the servers on 127.0.0.1.
      Server server = Server.createTcpServer("-tcpPort", "0", "-ifNotExists").start();
      closeables.add(server::stop);
      endpoints.add(Endpoint.of("127.0.0.1", server.getPort()));
    }
    Endpoint refusing = Endpoint.of("127.0.0.3", endpoints.get(0).port());
    endpoints.add(refusing);
    LoadBalancer db = balancer("orders-db", endpoints);

    for (int i = 0; i < 300; i++) {
      int one =
          db.execute(
              e -> {
                try (Connection c =
                        DriverManager.getConnection(
                            "jdbc:h2:tcp://" + e.authority() + "/mem:orders", "sa", "");
                    Statement s = c.createStatement();
                    ResultSet r = s.executeQuery("SELECT 1")) {
                  r.next();
                  return r.getInt(1);
                }
              });
      assertThat(one).isEqualTo(1);
    }
    assertRefusingOneEjectedAfterFive(db, refusing);
  }
}
