package io.loadstar.spring;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** Where a service's endpoints come from: DNS, an etcd registry, a Spring Cloud DiscoveryClient. */
public final class SourceProperties {

  private SourceProperties() {}

  /** A DNS source. */
  public static class Dns {

    /** The name to look up: A/AAAA records, or SRV records when srv is true. */
    private @Nullable String name;

    /** The port of the A/AAAA records' addresses (SRV records carry their own). */
    private @Nullable Integer port;

    /** Whether name is an SRV name (such as _http._tcp.orders.internal). */
    private boolean srv;

    /** The DNS servers, each host or host:port. Defaults to the system's (/etc/resolv.conf). */
    private List<String> servers = new ArrayList<>();

    public @Nullable String getName() {
      return name;
    }

    public void setName(@Nullable String name) {
      this.name = name;
    }

    public @Nullable Integer getPort() {
      return port;
    }

    public void setPort(@Nullable Integer port) {
      this.port = port;
    }

    public boolean isSrv() {
      return srv;
    }

    public void setSrv(boolean srv) {
      this.srv = srv;
    }

    public List<String> getServers() {
      return servers;
    }

    public void setServers(List<String> servers) {
      this.servers = servers;
    }
  }

  /** An etcd registry source. */
  public static class Etcd {

    /** The etcd members' client URLs, such as http://10.0.0.1:2379. */
    private List<String> urls = new ArrayList<>();

    /** The service's name in the registry. Defaults to the service's name here. */
    private @Nullable String service;

    /** The key prefix to follow. Defaults to /loadstar/services/{service}/. */
    private @Nullable String prefix;

    public List<String> getUrls() {
      return urls;
    }

    public void setUrls(List<String> urls) {
      this.urls = urls;
    }

    public @Nullable String getService() {
      return service;
    }

    public void setService(@Nullable String service) {
      this.service = service;
    }

    public @Nullable String getPrefix() {
      return prefix;
    }

    public void setPrefix(@Nullable String prefix) {
      this.prefix = prefix;
    }
  }

  /** A Spring Cloud DiscoveryClient source. */
  public static class Discovery {

    /** The service's id in the registry. Setting it turns the source on. */
    private @Nullable String serviceId;

    /**
     * How often the instances are read again (100ms to 1h); a registry that announces changes is
     * read at once too.
     */
    private Duration refreshInterval = Duration.ofSeconds(5);

    public @Nullable String getServiceId() {
      return serviceId;
    }

    public void setServiceId(@Nullable String serviceId) {
      this.serviceId = serviceId;
    }

    public Duration getRefreshInterval() {
      return refreshInterval;
    }

    public void setRefreshInterval(Duration refreshInterval) {
      this.refreshInterval = refreshInterval;
    }
  }
}
