package io.loadstar.testing;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Header;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;

/**
 * A small authoritative DNS responder on loopback (UDP and TCP on one port) for tests: the zone is
 * a map the test changes while the code under test runs; it can stall (answer nothing), answer
 * SERVFAIL or NXDOMAIN, and truncates UDP answers over 512 bytes like a real server. Closeable.
 */
public final class LoopbackDnsServer implements AutoCloseable {

  /** How the server answers. */
  public enum Mode {
    ANSWER,
    STALL,
    SERVFAIL,
    NXDOMAIN,
    /** Answers with the query's ID and then bytes that do not parse. */
    GARBAGE
  }

  private final DatagramSocket udp;
  private final ServerSocket tcp;
  private final Map<String, List<Record>> zone = new ConcurrentHashMap<>();
  private volatile Mode mode = Mode.ANSWER;
  private final AtomicInteger udpQueries = new AtomicInteger();
  private final AtomicInteger tcpQueries = new AtomicInteger();
  private final List<Thread> threads = new ArrayList<>();

  public LoopbackDnsServer() throws IOException {
    InetAddress loopback = InetAddress.getByName("127.0.0.1");
    // UDP gets an ephemeral port; TCP must take the same number, which another TCP socket may
    // hold: try again with a new pair then.
    DatagramSocket u = null;
    ServerSocket t = null;
    for (int attempt = 0; t == null; attempt++) {
      u = new DatagramSocket(null);
      u.setReceiveBufferSize(4 << 20); // as large as the kernel allows: bursts of queries
      u.bind(new InetSocketAddress(loopback, 0));
      ServerSocket candidate = new ServerSocket();
      try {
        candidate.setReuseAddress(true);
        candidate.bind(new InetSocketAddress(loopback, u.getLocalPort()), 512);
        t = candidate;
      } catch (java.net.BindException e) {
        candidate.close();
        u.close();
        if (attempt == 20) {
          throw e;
        }
      }
    }
    this.udp = u;
    this.tcp = t;
    threads.add(start("dns-udp", this::udpLoop));
    threads.add(start("dns-tcp", this::tcpLoop));
  }

  public InetSocketAddress address() {
    return new InetSocketAddress(udp.getLocalAddress(), udp.getLocalPort());
  }

  /** Replaces the records of {@code name} (of every type); an empty list removes the name. */
  public void set(String name, List<Record> records) {
    String key = name.toLowerCase(java.util.Locale.ROOT);
    if (records.isEmpty()) {
      zone.remove(key);
    } else {
      zone.put(key, List.copyOf(records));
    }
  }

  public void mode(Mode mode) {
    this.mode = mode;
  }

  public int udpQueries() {
    return udpQueries.get();
  }

  public int tcpQueries() {
    return tcpQueries.get();
  }

  private Thread start(String name, Runnable loop) {
    Thread t = new Thread(loop, name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  private void udpLoop() {
    byte[] buffer = new byte[4096];
    while (!udp.isClosed()) {
      try {
        DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
        udp.receive(packet);
        udpQueries.incrementAndGet();
        byte[] query = java.util.Arrays.copyOf(packet.getData(), packet.getLength());
        byte[] answer = answer(query, 512);
        if (answer != null) {
          udp.send(new DatagramPacket(answer, answer.length, packet.getSocketAddress()));
        }
      } catch (SocketException e) {
        return; // closed
      } catch (IOException e) {
        // a malformed query: ignore it, as a server would
      }
    }
  }

  private void tcpLoop() {
    while (!tcp.isClosed()) {
      try (Socket s = tcp.accept()) {
        tcpQueries.incrementAndGet();
        DataInputStream in = new DataInputStream(s.getInputStream());
        int length = in.readUnsignedShort();
        byte[] query = in.readNBytes(length);
        byte[] answer = answer(query, 65535);
        if (answer != null) {
          DataOutputStream out = new DataOutputStream(s.getOutputStream());
          out.writeShort(answer.length);
          out.write(answer);
          out.flush();
        }
      } catch (IOException e) {
        if (tcp.isClosed()) {
          return;
        }
      }
    }
  }

  private byte[] answer(byte[] wire, int maxLength) throws IOException {
    Message query = new Message(wire);
    Mode m = mode;
    if (m == Mode.STALL) {
      return null;
    }
    if (m == Mode.GARBAGE) {
      byte[] junk = new byte[40];
      java.util.Arrays.fill(junk, (byte) 0xFF);
      junk[0] = wire[0];
      junk[1] = wire[1];
      return junk;
    }
    Message response = new Message(query.getHeader().getID());
    Header header = response.getHeader();
    header.setFlag(Flags.QR);
    header.setFlag(Flags.AA);
    Record question = query.getQuestion();
    response.addRecord(question, Section.QUESTION);
    if (m == Mode.SERVFAIL) {
      header.setRcode(Rcode.SERVFAIL);
      return response.toWire();
    }
    Name name = question.getName();
    List<Record> records = zone.get(name.toString().toLowerCase(java.util.Locale.ROOT));
    if (m == Mode.NXDOMAIN || records == null) {
      header.setRcode(Rcode.NXDOMAIN);
      return response.toWire();
    }
    for (Record r : records) {
      if (r.getType() == question.getType() || r.getType() == org.xbill.DNS.Type.CNAME) {
        response.addRecord(r, Section.ANSWER);
      }
    }
    byte[] full = response.toWire();
    if (full.length <= maxLength) {
      return full;
    }
    Message truncated = new Message(query.getHeader().getID());
    truncated.getHeader().setFlag(Flags.QR);
    truncated.getHeader().setFlag(Flags.AA);
    truncated.getHeader().setFlag(Flags.TC);
    truncated.addRecord(question, Section.QUESTION);
    return truncated.toWire();
  }

  @Override
  public void close() throws IOException {
    udp.close();
    tcp.close();
    for (Thread t : threads) {
      try {
        t.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
