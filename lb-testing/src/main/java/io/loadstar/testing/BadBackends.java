package io.loadstar.testing;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.http.Fault;
import io.loadstar.api.Endpoint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import org.jspecify.annotations.Nullable;

/**
 * Three backends on one port for the drivers' bad-answer tests: two healthy WireMock servers on
 * 127.0.0.1 and .2 (answering {@code ok-1} and {@code ok-2}), and on 127.0.0.3 one that answers
 * badly, as {@link #startBad} says: WireMock's faults, or a raw socket that resets mid-body.
 */
public final class BadBackends implements AutoCloseable {

  /** The bad answers a driver is tested against. */
  public enum BadAnswer {
    MALFORMED_CHUNKED_BODY,
    RANDOM_DATA_THEN_CLOSE,
    EMPTY_RESPONSE,
    RESET_BEFORE_ANSWERING,
    RESET_MID_BODY
  }

  private final List<WireMockServer> healthy;
  private final int port;
  private @Nullable AutoCloseable bad;

  private BadBackends(List<WireMockServer> healthy, int port) {
    this.healthy = healthy;
    this.port = port;
  }

  /** Starts the two healthy backends on a free port (tried again if it is taken meanwhile). */
  public static BadBackends startHealthy() throws IOException {
    for (int tries = 0; ; tries++) {
      int port = ServerProcesses.freePort("127.0.0.1");
      List<WireMockServer> healthy = new ArrayList<>();
      try {
        for (int i = 1; i <= 2; i++) {
          WireMockServer server = start("127.0.0." + i, port);
          healthy.add(server);
          server.stubFor(any(anyUrl()).willReturn(aResponse().withBody("ok-" + i)));
        }
        return new BadBackends(healthy, port);
      } catch (RuntimeException e) {
        healthy.forEach(WireMockServer::stop);
        if (!(e.getCause() instanceof BindException) || tries == 10) {
          throw e;
        }
      }
    }
  }

  private static WireMockServer start(String address, int port) {
    WireMockServer server =
        new WireMockServer(options().bindAddress(address).port(port).containerThreads(8));
    server.start();
    return server;
  }

  /** Returns the port all three listen on. */
  public int port() {
    return port;
  }

  /** Returns the healthy backends, 127.0.0.1 first. */
  public List<WireMockServer> healthy() {
    return healthy;
  }

  /** Returns how many requests the healthy backends received. */
  public int healthyReceived() {
    return healthy.stream().mapToInt(s -> s.getAllServeEvents().size()).sum();
  }

  /** Returns the three endpoints, the bad one (127.0.0.3) last. */
  public List<Endpoint> endpoints() {
    List<Endpoint> endpoints = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      endpoints.add(Endpoint.of("127.0.0." + i, port));
    }
    return endpoints;
  }

  /**
   * Starts the bad backend on 127.0.0.3, answering every request with {@code answer} (stopping the
   * one started before), and returns how to count the requests it receives.
   */
  public IntSupplier startBad(BadAnswer answer) throws IOException {
    stopBad();
    if (answer == BadAnswer.RESET_MID_BODY) {
      ResettingHttpBackend raw = new ResettingHttpBackend("127.0.0.3", port);
      bad = raw;
      return raw::requests;
    }
    Fault fault =
        switch (answer) {
          case MALFORMED_CHUNKED_BODY -> Fault.MALFORMED_RESPONSE_CHUNK;
          case RANDOM_DATA_THEN_CLOSE -> Fault.RANDOM_DATA_THEN_CLOSE;
          case EMPTY_RESPONSE -> Fault.EMPTY_RESPONSE;
          default -> Fault.CONNECTION_RESET_BY_PEER;
        };
    WireMockServer server = start("127.0.0.3", port);
    bad = server::stop;
    server.stubFor(any(anyUrl()).willReturn(aResponse().withFault(fault)));
    AtomicInteger counter = new AtomicInteger();
    server.addMockServiceRequestListener((request, response) -> counter.incrementAndGet());
    return counter::get;
  }

  /** Stops the bad backend, if one is running. */
  public void stopBad() {
    AutoCloseable b = bad;
    bad = null;
    if (b != null) {
      try {
        b.close();
      } catch (Exception e) {
        throw new UncheckedIOException(new IOException("stopping the bad backend", e));
      }
    }
  }

  @Override
  public void close() {
    stopBad();
    healthy.forEach(WireMockServer::stop);
  }
}
